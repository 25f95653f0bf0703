"""Client ids, client secrets and refresh tokens: generation and hashing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string

_ALPHABET = string.ascii_letters + string.digits

# scrypt, because an operator may configure a low-entropy secret of their own.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def random_token(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_client_id() -> str:
    return random_token(21)


def new_client_secret() -> str:
    return random_token(43)


def new_refresh_token() -> str:
    return secrets.token_urlsafe(48)


def digest(value: str) -> str:
    """SHA-256, enough for 384-bit random refresh tokens."""
    return hashlib.sha256(value.encode()).hexdigest()


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024)


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    key = _scrypt(secret, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64(salt).decode()}${b64(key).decode()}"


def check_secret(secret: str, stored: str) -> bool:
    """The full scrypt check: about 16 MiB and tens of milliseconds."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        actual = _scrypt(secret, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)
