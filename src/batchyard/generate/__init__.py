"""Synthetic datasets (``generate``): set-based SQL, planted-defect manifests, idempotent targets."""

# Here rather than in spec.py: the generate kind's params read them without loading the datasets.
DEFAULT_SEED = 42
DEFAULT_CHUNK_ROWS = 100_000
