"""The built-in `migrate` job kind (being built)."""
