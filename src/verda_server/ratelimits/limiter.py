"""Fixed 60-second windows on the server clock, per project and per endpoint.

Windows are aligned on the server clock: window n covers the server seconds
[60n, 60n + 60), and n is part of every counter's key. Moving the clock past a
boundary therefore starts a new window at once, whatever real time passed, and
`t` (seconds until the reset) is exactly the window's end minus now. Both
windows of a request end at the same instant, so one `t` serves both.

What a refused request costs: the project budget counts admitted requests
only, so a client hammering one endpoint at 429 never locks its project out
of the others. The endpoint budget counts every attempt on its path, refused
or not: a request refused by the project limit has used its endpoint budget
too (it reached the endpoint), and attempts refused by the endpoint limit only
push a count that is already past its limit (what `r` shows stays 0).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from verda_server.clock import Clock
from verda_server.ratelimits.config import (
    ENDPOINT_LIMIT,
    PROJECT_LIMIT,
    WINDOW_SECONDS,
    ProjectRateLimits,
)
from verda_server.ratelimits.counters import Counters
from verda_server.ratelimits.policies import Policies

POLICY_HEADER = b"ratelimit-policy"
STATE_HEADER = b"ratelimit"
_MAX_SUBJECT = 128


@dataclass(frozen=True, slots=True)
class Verdict:
    headers: list[tuple[bytes, bytes]]  # RateLimit-Policy and RateLimit, for the response
    # When refused: which limit ("project" or "endpoint"), that limit, and the
    # seconds until its window resets (the Retry-After).
    exceeded: str | None = None
    limit: int = 0
    retry_after: int = 0


def project_subject(project_id: str) -> str:
    return f"p:{project_id}"


def client_subject(client_id: str) -> str:
    """Token requests are counted per client id, as named in the request: a
    client id longer than any stored one is counted by its digest, so that a
    request cannot make the counter keys arbitrarily large."""
    if len(client_id) <= _MAX_SUBJECT:
        return f"c:{client_id}"
    return f"h:{hashlib.sha256(client_id.encode()).hexdigest()}"


def refresh_subject(token_hash: str) -> str:
    """A refresh token that names no stored client: counted by its digest."""
    return f"r:{token_hash}"


class RateLimiter:
    def __init__(self, counters: Counters, clock: Clock, policies: Policies) -> None:
        self._counters = counters
        self._clock = clock
        self._policies = policies
        # The RateLimit-Policy value of each pair of limits, built once.
        self._policy_values: dict[tuple[int, int], bytes] = {}

    def limits_for(
        self, method: str, path: str, own: ProjectRateLimits | None
    ) -> tuple[int, int] | None:
        """(project limit, endpoint limit) enforced on this request; None: off."""
        if own is None:
            return PROJECT_LIMIT, self._policies.get((method, path), ENDPOINT_LIMIT)
        if own.enabled is False:
            return None
        endpoint = own.endpoint or self._policies.get((method, path), ENDPOINT_LIMIT)
        return own.project or PROJECT_LIMIT, endpoint

    async def admit(
        self, subject: str, method: str, path: str, own: ProjectRateLimits | None
    ) -> Verdict | None:
        """Count one request of `subject` (a project, or a client id for token
        requests) on method + path. None when its limits are switched off."""
        limits = self.limits_for(method, path, own)
        if limits is None:
            return None
        project_limit, endpoint_limit = limits
        now = self._clock.timestamp()
        window = int(now // WINDOW_SECONDS)
        reset_in = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
        project_key = f"P/{window}/{subject}"
        # The subject's length delimits it: no client id can forge another key.
        endpoint_key = f"E/{window}/{len(subject)}:{subject}{method} {path}"
        counters = self._counters
        exceeded: str | None = None
        endpoint_count = await counters.incr(endpoint_key)
        if endpoint_count > endpoint_limit:
            exceeded = "endpoint"
            project_count = await counters.get(project_key)
        else:
            project_count = await counters.incr(project_key)
            if project_count > project_limit:
                exceeded = "project"
                project_count = await counters.incr(project_key, -1)
        policy = self._policy_values.get(limits)
        if policy is None:
            policy = self._policy_values[limits] = (
                f'"project";q={project_limit};w={WINDOW_SECONDS}, '
                f'"endpoint";q={endpoint_limit};w={WINDOW_SECONDS}'
            ).encode()
        state = (
            f'"project";r={max(0, project_limit - project_count)};t={reset_in}, '
            f'"endpoint";r={max(0, endpoint_limit - endpoint_count)};t={reset_in}'
        )
        headers = [(POLICY_HEADER, policy), (STATE_HEADER, state.encode())]
        if exceeded is None:
            return Verdict(headers)
        limit = endpoint_limit if exceeded == "endpoint" else project_limit
        return Verdict(headers, exceeded, limit, reset_in)

    async def close(self) -> None:
        await self._counters.close()
