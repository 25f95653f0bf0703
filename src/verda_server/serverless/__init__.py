"""The serverless side of the service (BEYOND.md §3-5): container deployments, jobs,
compute resources, secrets, file secrets and container registry credentials."""
