from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from verda_server.api.patterns import explained
from verda_server.api.request import RequestModel
from verda_server.serverless.names import PathName
from verda_server.validation import MAX_NAME_LENGTH, SchemaExtra

SecretType = Literal["generic", "file-secret"]

# Standard alphabet, padded: what Python's base64.b64encode writes.
BASE64_PATTERN = explained(
    "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
    "must be base64 (standard alphabet, padded, no line breaks)",
)
FILE_NAME_PATTERN = explained("^[^/]+$", "a file name, without /")


def _not_dot_segment(name: str) -> str:
    if name in (".", ".."):
        raise ValueError("must not be . or ..")
    return name


FileName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH, pattern=FILE_NAME_PATTERN),
    AfterValidator(_not_dot_segment),
    SchemaExtra({"not": {"enum": [".", ".."]}}),
]
Base64 = Annotated[str, StringConstraints(pattern=BASE64_PATTERN)]


class SecretDto(BaseModel):
    name: str = Field(description="Secret name")
    created_at: str = Field(description="When the secret was created (RFC 3339)")
    secret_type: SecretType = Field(
        description="generic (usable as an env var) or file-secret (mountable as a volume)"
    )


class FileSecretDto(SecretDto):
    secret_type: Literal["file-secret"] = Field(description="Always file-secret")
    file_names: list[str] = Field(description="The secret's files, in the order they were sent")


class CreateSecretDto(RequestModel):
    name: PathName = Field(description="Secret name, unique among the project's secrets")
    value: str = Field(
        min_length=1, description="Secret value; stored, never returned by any operation"
    )


class SecretFileInDto(RequestModel):
    file_name: FileName = Field(description="Name of the file where the secret is mounted")
    base64_content: Base64 = Field(description="The file's content, base64-encoded")


class CreateFileSecretDto(RequestModel):
    name: PathName = Field(description="File secret name, unique among the project's secrets")
    files: list[SecretFileInDto] = Field(
        min_length=1,
        description="The files (at least one); a file name sent twice keeps its last content. "
        "Contents are stored, never returned by any operation",
    )
