from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, StringConstraints

from verda_server.api.request import RequestModel
from verda_server.serverless.names import PathName

RegistryType = Literal["dockerhub", "ghcr", "gcr", "aws-ecr", "custom", "scaleway", "verda"]

# The fields each registry type needs (BEYOND.md §5.4); `verda` documents none.
REQUIRED: dict[str, tuple[str, ...]] = {
    "dockerhub": ("username", "access_token"),
    "ghcr": ("username", "access_token"),
    "gcr": ("service_account_key",),
    "aws-ecr": ("access_key_id", "secret_access_key", "region", "ecr_repo"),
    "custom": ("docker_config_json",),
    "scaleway": ("scaleway_domain", "scaleway_uuid"),
    "verda": (),
}
# What each type keeps beyond its required fields.
OPTIONAL: dict[str, tuple[str, ...]] = {"verda": ("username", "access_token")}

Text = Annotated[str, StringConstraints(min_length=1)]
_NOT_NULL: dict[str, Any] = {"not": {"type": "null"}}


def _needs(kind: str, fields: tuple[str, ...]) -> dict[str, Any]:
    return {
        "if": {"required": ["type"], "properties": {"type": {"const": kind}}},
        "then": {"required": list(fields), "properties": {f: _NOT_NULL for f in fields}},
    }


class RegistryCredentialDto(BaseModel):
    name: str = Field(description="Credentials name")
    created_at: str = Field(description="When the credentials were added (RFC 3339)")


class CreateRegistryCredentialDto(RequestModel):
    schema_rules: ClassVar[tuple[dict[str, Any], ...]] = tuple(
        _needs(kind, fields) for kind, fields in REQUIRED.items() if fields
    )

    name: PathName = Field(description="Credentials name, unique in the project")
    type: RegistryType = Field(description="The registry; each type needs its own fields")
    username: Text | None = Field(default=None, description="dockerhub, ghcr (verda: optional)")
    access_token: Text | None = Field(
        default=None, description="dockerhub, ghcr: the access token (verda: optional)"
    )
    service_account_key: Text | None = Field(
        default=None, description="gcr: the service account's JSON key file, as a string"
    )
    access_key_id: Text | None = Field(default=None, description="aws-ecr")
    secret_access_key: Text | None = Field(default=None, description="aws-ecr")
    region: Text | None = Field(default=None, description="aws-ecr, e.g. eu-north-1")
    ecr_repo: Text | None = Field(
        default=None, description="aws-ecr, e.g. 887841266746.dkr.ecr.eu-north-1.amazonaws.com"
    )
    docker_config_json: Text | None = Field(
        default=None, description="custom: a Docker config.json (with `auths`), as a string"
    )
    scaleway_domain: Text | None = Field(
        default=None, description="scaleway, e.g. rg.nl-ams.scw.cloud"
    )
    scaleway_uuid: Text | None = Field(default=None, description="scaleway: the API secret key")

    def fields_of_type(self) -> dict[str, str]:
        """The type's fields that were sent; every other field is ignored."""
        names = REQUIRED[self.type] + OPTIONAL.get(self.type, ())
        return {name: value for name in names if (value := getattr(self, name)) is not None}
