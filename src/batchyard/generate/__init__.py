"""Synthetic datasets (``generate``): set-based SQL, planted-defect manifests, idempotent targets."""
