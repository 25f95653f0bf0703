"""Serverless jobs (`/job-deployments`), BEYOND.md §4: the deployments' model and rows."""
