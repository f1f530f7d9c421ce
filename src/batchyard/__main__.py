"""``python -m batchyard`` is the ``batchyard`` command."""

from batchyard.cli import main

main()
