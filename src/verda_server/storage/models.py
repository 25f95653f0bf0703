"""Imports every ORM module so that the metadata (and Alembic) sees all tables."""

from verda_server.auth import models as auth_models
from verda_server.projects import models as project_models
from verda_server.storage.base import Base

__all__ = ["Base", "auth_models", "project_models"]
