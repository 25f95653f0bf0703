"""OAuth2 client-credentials and refresh-token grants, and access-token checks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from verda_server.api.errors import ApiError, unauthorized
from verda_server.auth.models import Credential, RefreshToken
from verda_server.auth.schemas import GetAccessTokenResponseDto
from verda_server.auth.secrets import SecretVerifier, digest, new_refresh_token
from verda_server.auth.signing import KeyRing
from verda_server.clock import Clock
from verda_server.storage.database import Database

SCOPE = "cloud-api-v1"
ISSUER = "verda-server"
_ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    """Who an authenticated request acts for."""

    project_id: str
    client_id: str


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
        self._access_ttl = access_ttl
        self._refresh_ttl = refresh_ttl
        self._verifier = SecretVerifier()

    def client_credentials(self, client_id: str, client_secret: str) -> GetAccessTokenResponseDto:
        with self._db.write() as session:
            credential = session.get(Credential, client_id)
            if credential is None or not self._verifier.verify(
                client_secret, credential.secret_hash
            ):
                raise unauthorized("Invalid client credentials")
            return self._issue(session, credential, family_id=str(uuid.uuid4()))

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
        kid, key = self._keys.signing_key()
        issued_at = int(now.timestamp())
        claims = {
            "iss": ISSUER,
            "sub": credential.client_id,
            "project_id": credential.project_id,
            "scope": SCOPE,
            "iat": issued_at,
            "exp": issued_at + self._access_ttl,
            "jti": uuid.uuid4().hex,
        }
        access = jwt.encode(claims, key, algorithm=_ALGORITHM, headers={"kid": kid})
        return GetAccessTokenResponseDto(
            access_token=access,
            token_type="Bearer",
            expires_in=self._access_ttl,
            refresh_token=refresh,
            scope=SCOPE,
        )

    def authenticate(self, token: str) -> Principal:
        """Check an access token; expiry is judged by the server's clock."""
        try:
            header = jwt.get_unverified_header(token)
            key = self._keys.verification_key(str(header.get("kid", "")))
            if key is None:
                raise unauthorized("Invalid access token")
            claims = jwt.decode(
                token,
                key,
                algorithms=[_ALGORITHM],
                issuer=ISSUER,
                # Time claims are judged below by the server's clock, which
                # tests and operators may have moved ahead of the wall clock.
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["exp", "sub", "project_id", "scope"],
                },
            )
        except jwt.PyJWTError as exc:
            raise unauthorized("Invalid access token") from exc
        if not isinstance(claims["exp"], int | float) or claims["exp"] <= self._clock.timestamp():
            raise unauthorized("Access token expired")
        if SCOPE not in str(claims["scope"]).split():
            raise ApiError("forbidden_action", "Insufficient scope")
        return Principal(project_id=str(claims["project_id"]), client_id=str(claims["sub"]))
