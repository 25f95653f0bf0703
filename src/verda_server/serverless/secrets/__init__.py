"""Generic secrets (env vars) and file secrets (secret volume mounts), BEYOND.md §5.2-5.3."""
