"""OpenSSH public key lines, once their form is checked (ssh_keys/form.py):
the line as stored, and its fingerprint."""

from __future__ import annotations

import base64
import binascii
import hashlib

from verda_server.validation import WHITESPACE


def _blob(text: str) -> bytes | None:
    """The key data; the form allows the padding to be left off."""
    unpadded = text.rstrip("=")
    try:
        return base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def md5_fingerprint(blob: bytes) -> str:
    """The form `ssh-keygen -E md5 -l` prints (without its `MD5:`), as the live API shows."""
    return hashlib.md5(blob, usedforsecurity=False).digest().hex(":")


def normalise_public_key(text: str) -> tuple[str, str | None]:
    """The key as one clean line, and its MD5 fingerprint (None if the data won't decode)."""
    fields = text.strip(WHITESPACE).split()
    blob = _blob(fields[1]) if len(fields) > 1 else None
    return " ".join(fields), md5_fingerprint(blob) if blob is not None else None
