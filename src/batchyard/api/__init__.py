"""The REST API: ``create_app`` builds it; ``batchyard serve`` runs it with uvicorn."""

from batchyard.api.app import create_app
from batchyard.api.options import ServeOptions

__all__ = ["ServeOptions", "create_app"]
