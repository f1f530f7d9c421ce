"""What a database holds (``inspect``, ``data summary``): its schema catalogue and its values."""
