"""Access tokens signed with a live server's own key, to say what a client cannot."""

from __future__ import annotations

from typing import Any

import jwt

from tests.support.live import LiveServer


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def resign(live: LiveServer, claims: dict[str, Any], **changes: Any) -> str:
    """`claims` with `changes` (a value of `None` drops the claim), signed with the
    server's current key, exactly as the server signs its own tokens."""
    merged = {**claims, **changes}
    merged = {name: value for name, value in merged.items() if value is not None}
    kid, key = live.context.tokens._keys.signing_key()
    return jwt.encode(merged, key, algorithm="HS256", headers={"kid": kid})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
