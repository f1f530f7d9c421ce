"""What a database holds (``inspect``, ``data summary``): its schema catalogue and its values."""

# A summary's defaults. Here rather than in summary.py: the summary kind's params read them
# without loading SQLAlchemy.
EXACT_BELOW = 200_000
SAMPLE_ROWS = 50_000
TOP = 5
