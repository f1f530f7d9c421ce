"""The built-in `generate` job kind (being built)."""
