"""The suite imports the application as `verda-server serve` does, its pydantic
models built on their first use (api/fastapi_import.py), so that what the tests
exercise is what serving runs."""

from verda_server.api.fastapi_import import import_app

import_app()
