"""verda-server: a stateful implementation of the Verda Cloud Public API v1."""

__version__ = "0.1.0"
