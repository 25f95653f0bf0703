"""Route-specific endpoint policies: data, in a YAML file like the catalog.

The packaged file holds what the API document states; `--rate-limit-policies
FILE` replaces it. A file is validated strictly at start-up, so a typo stops the
server with a message naming it instead of silently limiting nothing.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from verda_server.catalog.source import describe
from verda_server.ratelimits.config import MAX_LIMIT

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Policy(_Strict):
    method: Method
    # One exact request path, as a client sends it (without the query string).
    path: str = Field(pattern=r"^/[^?#\s]*$", max_length=2048)
    limit: int = Field(ge=1, le=MAX_LIMIT)


class PolicyFile(_Strict):
    policies: list[Policy]

    @model_validator(mode="after")
    def _unique(self) -> PolicyFile:
        seen: set[tuple[str, str]] = set()
        for policy in self.policies:
            route = (policy.method, policy.path)
            if route in seen:
                raise ValueError(f"{policy.method} {policy.path} has more than one policy")
            seen.add(route)
        return self


class PolicyError(Exception):
    """The policy file is missing, unreadable or invalid."""


# (method, path) -> the endpoint limit for that route.
Policies = dict[tuple[str, str], int]


def load_policies(path: Path | None = None) -> Policies:
    try:
        if path is None:
            packaged = resources.files("verda_server.ratelimits").joinpath("data/policies.yaml")
            text = packaged.read_text()
            origin = "the packaged rate-limit policies"
        else:
            text = Path(path).read_text()
            origin = str(path)
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        detail = " ".join(str(exc).split())
        raise PolicyError(f"cannot read rate-limit policies {path}: {detail}") from exc
    try:
        parsed = PolicyFile.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(f"invalid rate-limit policies {origin}: {describe(exc)}") from exc
    return {(p.method, p.path): p.limit for p in parsed.policies}
