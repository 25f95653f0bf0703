"""OAuth2 client-credentials and refresh-token grants, and access-token checks."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from verda_server.api.errors import ApiError, unauthorized
from verda_server.auth.access import (
    SCOPE,
    AccessClaims,
    AccessTokenReader,
    credential_stamp,
    sign,
)
from verda_server.auth.models import Credential, RefreshToken
from verda_server.auth.schemas import GetAccessTokenResponseDto
from verda_server.auth.secrets import digest, new_refresh_token
from verda_server.auth.signing import KeyRing
from verda_server.auth.verifier import SecretVerifier
from verda_server.clock import Clock
from verda_server.projects.models import Project
from verda_server.ratelimits.config import ProjectRateLimits, from_columns
from verda_server.storage.database import Database
from verda_server.storage.point_read import PointRead

_REVOKED = "Access token revoked: its credential was rotated or removed"


@dataclass(frozen=True)
class Principal:
    """Who an authenticated request acts for."""

    project_id: str
    client_id: str
    # The project's own rate limits; None: the server's defaults.
    rate_limits: ProjectRateLimits | None = None
    # The project's generation when the credential was read (storage/generation.py);
    # None where the read did not include it.
    generation: int | None = None


# What a credential's read gives besides itself: its project's rate limits, read
# in the same statement so that the limiter costs no read of its own.
RATE_LIMIT_COLUMNS = (
    Project.rate_limits_enabled,
    Project.rate_limit_project,
    Project.rate_limit_endpoint,
)
# Called once a client's limits are known, before its secret is checked.
TokenGate = Callable[[ProjectRateLimits | None], Awaitable[None]]


class TokenService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        keys: KeyRing,
        access_ttl: int,
        refresh_ttl: int,
    ) -> None:
        self._db = db
        self._clock = clock
        self._keys = keys
        self._reader = AccessTokenReader(keys)
        self._access_ttl = access_ttl
        self._refresh_ttl = refresh_ttl
        self._verifier = SecretVerifier()
        self._credential = PointRead(
            db,
            select(
                Credential.project_id,
                Credential.secret_hash,
                *RATE_LIMIT_COLUMNS,
                Project.generation,
            )
            .join(Project, Project.id == Credential.project_id)
            .where(Credential.client_id == bindparam("client_id")),
        )
        self._refresh_owner = PointRead(
            db,
            select(RefreshToken.client_id, *RATE_LIMIT_COLUMNS)
            .join(Project, Project.id == RefreshToken.project_id)
            .where(RefreshToken.token_hash == bindparam("token_hash")),
        )

    async def client_credentials(
        self, client_id: str, client_secret: str, gate: TokenGate | None = None
    ) -> GetAccessTokenResponseDto:
        # The secret is checked outside any transaction: a slow scrypt must
        # never hold the store's write lock.
        row = await self._credential.run(client_id=client_id)
        if gate is not None:
            # Before the secret's check: a guessed secret meets the limit first.
            await gate(None if row is None else from_columns(*row[2:5]))
        if row is None or not await self._verifier.verify(client_secret, row[1]):
            raise unauthorized("Invalid client credentials")
        return await run_in_threadpool(self._grant, client_id, row[1])

    def _grant(self, client_id: str, verified_hash: str) -> GetAccessTokenResponseDto:
        with self._db.write() as session:
            credential = session.get(Credential, client_id)
            if credential is None or credential.secret_hash != verified_hash:
                # Rotated or revoked while the secret was being checked.
                raise unauthorized("Invalid client credentials")
            return self._issue(session, credential, family_id=str(uuid.uuid4()))

    async def refresh_owner(
        self, refresh_token: str
    ) -> tuple[str, ProjectRateLimits | None] | None:
        """The client a refresh token was issued to (spent or not) and its
        project's rate limits; None for a token never issued here."""
        row = await self._refresh_owner.run(token_hash=digest(refresh_token))
        return None if row is None else (row[0], from_columns(*row[1:4]))

    def refresh(self, refresh_token: str) -> GetAccessTokenResponseDto:
        token_hash = digest(refresh_token)
        now = self._clock.now()
        with self._db.write() as session:
            # One conditional UPDATE spends the token, so two concurrent
            # refreshes with the same token cannot both succeed.
            spent = session.execute(
                update(RefreshToken)
                .where(
                    RefreshToken.token_hash == token_hash,
                    RefreshToken.used_at.is_(None),
                    RefreshToken.revoked_at.is_(None),
                    RefreshToken.expires_at > now,
                )
                .values(used_at=now)
                .returning(RefreshToken.client_id, RefreshToken.family_id)
            ).first()
            if spent is not None:
                credential = session.get(Credential, spent.client_id)
                if credential is not None:
                    return self._issue(session, credential, family_id=spent.family_id)
            reused = session.scalar(
                select(RefreshToken.family_id).where(
                    RefreshToken.token_hash == token_hash, RefreshToken.used_at.is_not(None)
                )
            )
            if reused is not None:
                # A spent token presented again means it leaked: end its family.
                session.execute(
                    update(RefreshToken)
                    .where(RefreshToken.family_id == reused, RefreshToken.revoked_at.is_(None))
                    .values(revoked_at=now)
                )
        raise unauthorized("Invalid or expired refresh token")

    def prune(self) -> int:
        """Forget refresh tokens past their expiry; until then a spent one is kept
        so that its reuse can still be recognised."""
        with self._db.write() as session:
            result = session.execute(
                delete(RefreshToken).where(RefreshToken.expires_at <= self._clock.now())
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def _issue(
        self, session: Session, credential: Credential, family_id: str
    ) -> GetAccessTokenResponseDto:
        now = self._clock.now()
        refresh = new_refresh_token()
        session.add(
            RefreshToken(
                token_hash=digest(refresh),
                family_id=family_id,
                client_id=credential.client_id,
                project_id=credential.project_id,
                created_at=now,
                expires_at=now + timedelta(seconds=self._refresh_ttl),
            )
        )
        access = sign(
            self._keys,
            credential.project_id,
            credential.client_id,
            credential.secret_hash,
            now=int(now.timestamp()),
            ttl=self._access_ttl,
        )
        return GetAccessTokenResponseDto(
            access_token=access,
            token_type="Bearer",
            expires_in=self._access_ttl,
            refresh_token=refresh,
            scope=SCOPE,
        )

    def claims(self, token: str) -> AccessClaims:
        """A token's signed claims, once its expiry is checked by the server's
        clock. Not yet proof of anything: `confirm` or `principal` must follow."""
        claims = self._reader.read(token)
        if claims.expires_at <= self._clock.timestamp():
            raise unauthorized("Access token expired")
        return claims

    async def confirm(self, claims: AccessClaims) -> Principal:
        """Check that the token's credential still exists, belongs to its project
        and has the secret the token was issued under: one primary-key read, on
        every authenticated request, never cached, so a rotated or revoked
        credential ends its tokens at once on every replica."""
        return self.principal(claims, await self._credential.run(client_id=claims.client_id))

    def principal(self, claims: AccessClaims, credential: Sequence[Any] | None) -> Principal:
        """`confirm`, given the credential's (project_id, secret_hash), its
        project's RATE_LIMIT_COLUMNS and maybe its generation, as read by the
        caller in a read of its own (None when there is no such credential)."""
        if (
            credential is None
            or credential[0] != claims.project_id
            or not hmac.compare_digest(credential_stamp(credential[1]), claims.stamp)
        ):
            raise unauthorized(_REVOKED)
        if not claims.scoped:
            raise ApiError("forbidden_action", "Insufficient scope")
        generation = credential[5] if len(credential) > 5 else None
        return Principal(
            claims.project_id, claims.client_id, from_columns(*credential[2:5]), generation
        )

    def close(self) -> None:
        self._verifier.close()
