"""Data at rest: synthetic datasets (generate), and later export, import, backup and summary."""
