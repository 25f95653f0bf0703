"""Access tokens: HS256 JWTs that name their project, credential and secret.

Reading one checks its signature and shape only; whether it has expired (by the
server's clock) and whether its credential is still current are judged by the
caller on every request. What a successful read found is remembered per token
string, because PyJWT's parsing is the most expensive part of an authenticated
request and a client sends the same token for its whole life: nothing that can
change (time, the store) is part of what is remembered.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from verda_server.api.errors import unauthorized
from verda_server.auth.hs256 import jwt
from verda_server.auth.signing import KeyRing

SCOPE = "cloud-api-v1"
ISSUER = "verda-server"
ALGORITHM = "HS256"
# Ties a token to its credential's current secret.
STAMP_CLAIM = "cst"
# Time claims are whole seconds within what a JSON number holds exactly.
MAX_TIMESTAMP = 2**53 - 1
_REQUIRED = ("iss", "sub", "project_id", "scope", "iat", "exp", STAMP_CLAIM)


@lru_cache(maxsize=4096)
def credential_stamp(secret_hash: str) -> str:
    """A short digest of a credential's stored secret hash. A rotated secret is
    hashed with a new salt, so its stamp changes and the tokens carrying the
    old one stop working; the hash itself never leaves the store."""
    return hashlib.sha256(secret_hash.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class AccessClaims:
    project_id: str
    client_id: str
    stamp: str
    expires_at: int
    scoped: bool  # carries the API's scope


def sign(
    keys: KeyRing, project_id: str, client_id: str, secret_hash: str, now: int, ttl: int
) -> str:
    kid, key = keys.signing_key()
    claims = {
        "iss": ISSUER,
        "sub": client_id,
        "project_id": project_id,
        "scope": SCOPE,
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
        STAMP_CLAIM: credential_stamp(secret_hash),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})


class AccessTokenReader:
    """Used from the event loop only: its memory needs no lock."""

    def __init__(self, keys: KeyRing, remember: int = 4096) -> None:
        self._keys = keys
        self._read: OrderedDict[str, AccessClaims] = OrderedDict()
        self._remember = remember

    def read(self, token: str) -> AccessClaims:
        claims = self._read.get(token)
        if claims is None:
            claims = self._decode(token)
            self._read[token] = claims
            if len(self._read) > self._remember:
                self._read.popitem(last=False)
        return claims

    def _decode(self, token: str) -> AccessClaims:
        try:
            header = jwt.get_unverified_header(token)
            key = self._keys.verification_key(str(header.get("kid", "")))
            if key is None:
                raise unauthorized("Invalid access token")
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                # Time claims are judged by the caller, by the server's clock,
                # which tests and operators may have moved ahead of the wall clock.
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": list(_REQUIRED),
                },
            )
        except jwt.PyJWTError as exc:
            raise unauthorized("Invalid access token") from exc
        issued_at, expires_at = _timestamp(claims, "iat"), _timestamp(claims, "exp")
        client_id, project_id, stamp = (claims[name] for name in ("sub", "project_id", STAMP_CLAIM))
        if issued_at > expires_at or not all(
            isinstance(text, str) for text in (client_id, project_id, stamp)
        ):
            raise unauthorized("Invalid access token")
        return AccessClaims(
            project_id=project_id,
            client_id=client_id,
            stamp=stamp,
            expires_at=expires_at,
            scoped=SCOPE in str(claims["scope"]).split(),
        )


def _timestamp(claims: dict[str, Any], name: str) -> int:
    value = claims[name]
    # type(), not isinstance(): JSON true is a bool, and bool is an int.
    if type(value) is not int or not 0 <= value <= MAX_TIMESTAMP:
        raise unauthorized("Invalid access token")
    return value
