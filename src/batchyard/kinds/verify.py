"""The built-in `verify` job kind (being built)."""
