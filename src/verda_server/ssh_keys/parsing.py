"""OpenSSH public key lines, checked for their form rather than their full structure.

The live service accepts keys whose blob decodes and names its algorithm but is
cut short (Go SDK callers register such placeholder `ssh-rsa` keys), so the
check is: a known key type, a base64 blob whose first length-prefixed string
repeats that type, and an optional comment.

Certificates (`*-cert-v01@openssh.com`) are refused: they are not keys that an
instance's authorized_keys can hold (sshd trusts them through a CA key marked
`cert-authority`), and the live documentation names only plain key types.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct

from verda_server.api.errors import invalid

MAX_KEY_LENGTH = 16 * 1024
KEY_TYPES = frozenset(
    {
        "ssh-rsa",
        "ssh-dss",
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_NOT_A_KEY = (
    "key: not an OpenSSH public key (expected '<type> <base64> [comment]', e.g. "
    "'ssh-ed25519 AAAA… me@laptop'; types: " + ", ".join(sorted(KEY_TYPES)) + ")"
)


def _decode_blob(text: str) -> bytes | None:
    """Base64 alphabet only, of a length base64 can have; the padding may be left off.

    Padding is optional and unused trailing bits are ignored because the Go SDK's
    own placeholder key is unpadded (174 characters) and the live service takes it.
    """
    if not _BASE64.fullmatch(text):
        return None
    unpadded = text.rstrip("=")
    if len(unpadded) % 4 == 1 or (unpadded != text and len(text) % 4):
        return None
    try:
        return base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _embedded_type(blob: bytes) -> str | None:
    if len(blob) < 4:
        return None
    (length,) = struct.unpack(">I", blob[:4])
    name = blob[4 : 4 + length]
    if len(name) != length:
        return None
    try:
        return name.decode("ascii")
    except UnicodeDecodeError:
        return None


def md5_fingerprint(blob: bytes) -> str:
    """The form `ssh-keygen -E md5 -l` prints (without its `MD5:`), as the live API shows."""
    return hashlib.md5(blob, usedforsecurity=False).digest().hex(":")


def normalise_public_key(text: str) -> tuple[str, str]:
    """Return the key as one clean line and its MD5 fingerprint, or raise 400."""
    stripped = text.strip()
    if not stripped:
        raise invalid("key: must not be empty")
    if len(stripped) > MAX_KEY_LENGTH or len(stripped.splitlines()) > 1:
        raise invalid("key: must be a single OpenSSH public key line")
    fields = stripped.split()
    if len(fields) < 2 or fields[0] not in KEY_TYPES:
        raise invalid(_NOT_A_KEY)
    blob = _decode_blob(fields[1])
    if blob is None:
        raise invalid("key: the part after the key type is not valid base64")
    embedded = _embedded_type(blob)
    if embedded != fields[0]:
        named = f"it names {embedded[:64]!r}" if embedded is not None else "it names no type"
        raise invalid(f"key: the key data does not match the type {fields[0]!r} ({named})")
    return " ".join(fields), md5_fingerprint(blob)
