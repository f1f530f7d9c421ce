"""The built-in job kinds. Each module registers its kind the same way a project's jobs.py does."""

from batchyard.kinds import batch, generate, migrate, verify

__all__ = ["batch", "generate", "migrate", "verify"]
