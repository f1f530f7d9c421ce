"""HTTP collection: templates, pagination, rate limits, retries and extraction (``collect``)."""

from batchyard.collect.client import HttpClient, http_client
from batchyard.errors import HttpError

__all__ = ["HttpClient", "HttpError", "http_client"]
