"""Serverless container deployments, BEYOND.md §3 (jobs, §4, share the model)."""
