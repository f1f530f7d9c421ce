"""The type mapping now lives in :mod:`batchyard.db.types`; these names stay importable from here."""

from batchyard.db.types import (
    ANY_COMMENT,
    LOGICAL,
    ColumnType,
    from_postgres,
    from_sqlite,
    override,
)

__all__ = ["ANY_COMMENT", "LOGICAL", "ColumnType", "from_postgres", "from_sqlite", "override"]
