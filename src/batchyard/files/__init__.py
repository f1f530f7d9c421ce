"""Data files (``data export``, ``data import``): CSV, JSON, JSON lines, Parquet and SQLite files,
their manifests, and the quarantine of rows an import sets aside."""
