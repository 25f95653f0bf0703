"""The control API: what the people who run the server use, under /_admin/v1."""
