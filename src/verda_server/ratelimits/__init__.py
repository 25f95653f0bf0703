"""Rate limits: the API document's per-project and per-endpoint windows."""
