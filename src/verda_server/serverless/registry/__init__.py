"""Container registry credentials, BEYOND.md §5.4."""
