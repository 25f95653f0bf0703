from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa


def _openssh(public_key: object, comment: str) -> str:
    raw = public_key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return f"{raw.decode()} {comment}"


def ed25519_key(comment: str = "me@laptop") -> str:
    return _openssh(ed25519.Ed25519PrivateKey.generate().public_key(), comment)


def rsa_key(comment: str = "me@laptop") -> str:
    return _openssh(rsa.generate_private_key(65537, 2048).public_key(), comment)


def ecdsa_key(comment: str = "me@laptop") -> str:
    return _openssh(ec.generate_private_key(ec.SECP256R1()).public_key(), comment)
