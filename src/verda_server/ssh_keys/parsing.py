"""OpenSSH public keys: accepted only when the key itself parses."""

from __future__ import annotations

import base64
import hashlib

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import load_ssh_public_key

from verda_server.api.errors import invalid

MAX_KEY_LENGTH = 16 * 1024


def normalise_public_key(text: str) -> tuple[str, str]:
    """Return the key as one clean line and its SHA256 fingerprint, or raise 400."""
    line = " ".join(text.strip().split())
    if not line:
        raise invalid("key: must not be empty")
    if len(line) > MAX_KEY_LENGTH or "\n" in text.strip():
        raise invalid("key: must be a single OpenSSH public key line")
    try:
        load_ssh_public_key(line.encode())
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise invalid(
            "key: not a valid OpenSSH public key "
            "(expected e.g. 'ssh-ed25519 AAAA… comment'; rsa, ecdsa, ed25519 and sk- keys)"
        ) from exc
    blob = base64.b64decode(line.split(" ")[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return line, f"SHA256:{digest}"
