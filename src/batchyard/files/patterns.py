"""How the text of a value must read to be of a logical type: one set of patterns for the CSV
reader's checks in DuckDB, the converters of every other format, and type inference."""

from __future__ import annotations

#: How the text of a CSV value must read to go into a column of the logical type (the whole
#: text, spaces around it allowed), and the DuckDB type that must take it too. DuckDB's own casts
#: round ``1.5`` to 2 and read ``1e3`` and ``0x10`` as integers, and a DATE cast back to text is
#: passed through unchecked; so these columns are read as text and checked against these patterns,
#: in DuckDB (see :mod:`batchyard.files.readers`).
STRICT = {
    "integer": (r"\s*[+-]?[0-9]+\s*", "BIGINT"),
    "float": (
        r"\s*[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|(?i:inf|infinity|nan))\s*",
        "DOUBLE",
    ),
    "date": (r"\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*", "DATE"),
    "datetime": (
        r"\s*[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
        r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?\s*",
        "TIMESTAMP",
    ),
    "time": (
        r"\s*[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?\s*",
        "TIME",
    ),
}
#: The text DuckDB's CSV reader types as a boolean.
BOOLEAN = r"\s*(?i:true|false)\s*"
