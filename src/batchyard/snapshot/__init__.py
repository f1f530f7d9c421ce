"""Backup and restore (``data backup``, ``data restore``): snapshots with checksummed manifests."""
