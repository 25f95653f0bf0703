"""OpenSSH public key lines, once their form is checked (ssh_keys/form.py)."""

from __future__ import annotations

import base64
import hashlib


def normalise_public_key(text: str) -> tuple[str, str]:
    """The key as one clean line, and its SHA256 fingerprint."""
    line = " ".join(text.split())
    blob = base64.b64decode(line.split(" ")[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return line, f"SHA256:{digest}"
