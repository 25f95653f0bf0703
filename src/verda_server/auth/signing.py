"""Access-token signing keys: generated once into the store, or configured."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time

from sqlalchemy import select

from verda_server.auth.models import SigningKey
from verda_server.clock import Clock
from verda_server.storage.database import Database

_RELOAD_INTERVAL = 5.0


class KeyRing:
    """The HMAC keys every replica verifies with; the newest one signs."""

    def __init__(self, db: Database, clock: Clock, configured_key: str | None = None) -> None:
        self._db = db
        self._clock = clock
        self._configured = configured_key
        self._keys: dict[str, bytes] = {}
        self._current: str | None = None
        self._lock = threading.Lock()
        self._loaded_at = 0.0

    def ensure(self) -> None:
        """Load the keys, creating the first one when the store has none."""
        if self._configured is not None:
            kid = "cfg-" + hashlib.sha256(self._configured.encode()).hexdigest()[:16]
            self._keys = {kid: self._configured.encode()}
            self._current = kid
            return
        with self._db.write() as session:
            if session.scalar(select(SigningKey.kid).limit(1)) is None:
                session.add(
                    SigningKey(
                        kid=secrets.token_hex(8),
                        secret=secrets.token_urlsafe(48),
                        created_at=self._clock.now(),
                    )
                )
        self.reload()

    def reload(self) -> None:
        if self._configured is not None:
            return
        with self._db.read() as session:
            rows = session.scalars(select(SigningKey).order_by(SigningKey.created_at)).all()
        with self._lock:
            self._keys = {row.kid: row.secret.encode() for row in rows}
            self._current = rows[-1].kid if rows else None
            self._loaded_at = time.monotonic()

    def signing_key(self) -> tuple[str, bytes]:
        if self._current is None:
            raise RuntimeError("the key ring has not been loaded")
        return self._current, self._keys[self._current]

    def verification_key(self, kid: str) -> bytes | None:
        key = self._keys.get(kid)
        if key is None and self._configured is None and self._may_reload():
            # Another replica may have added a key since we loaded ours.
            self.reload()
            key = self._keys.get(kid)
        return key

    def _may_reload(self) -> bool:
        # Tokens with made-up key ids must not turn into a query each.
        return time.monotonic() - self._loaded_at > _RELOAD_INTERVAL
