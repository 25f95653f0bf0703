"""Imports every ORM module so that the metadata (and Alembic) sees all tables."""

from verda_server.auth import models as auth_models
from verda_server.billing import models as billing_models
from verda_server.clusters import models as cluster_models
from verda_server.control import models as control_models
from verda_server.instances import models as instance_models
from verda_server.projects import models as project_models
from verda_server.serverless.registry import models as registry_models
from verda_server.serverless.secrets import models as secret_models
from verda_server.ssh_keys import models as ssh_key_models
from verda_server.startup_scripts import models as startup_script_models
from verda_server.storage import generation
from verda_server.storage.base import Base
from verda_server.tags import models as tag_models
from verda_server.volumes import models as volume_models

__all__ = [
    "Base",
    "auth_models",
    "billing_models",
    "cluster_models",
    "control_models",
    "generation",
    "instance_models",
    "project_models",
    "registry_models",
    "secret_models",
    "ssh_key_models",
    "startup_script_models",
    "tag_models",
    "volume_models",
]
