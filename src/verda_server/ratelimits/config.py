"""The limits a project is held to: the document's defaults, or its own."""

from __future__ import annotations

from dataclasses import dataclass

# The API document's "Rate Limits": 60-second windows, 500 requests per project,
# 60 per project + method + path (unless a route policy says otherwise).
WINDOW_SECONDS = 60
PROJECT_LIMIT = 500
ENDPOINT_LIMIT = 60
# The largest limit a project may be given: more is "off", which says so.
MAX_LIMIT = 1_000_000


@dataclass(frozen=True)
class ProjectRateLimits:
    """A project's own settings; None in a field means the server's default.

    `enabled=False` switches the limits off for the project (no headers either);
    `endpoint`, when set, applies to every path of the project, route policies
    included: a project's own setting is the more specific one.
    """

    enabled: bool | None = None
    project: int | None = None
    endpoint: int | None = None

    @property
    def is_default(self) -> bool:
        return self.enabled is None and self.project is None and self.endpoint is None


DEFAULT = ProjectRateLimits()


def from_columns(
    enabled: bool | int | None, project: int | None, endpoint: int | None
) -> ProjectRateLimits | None:
    """The settings as read raw from the projects row (a driver's 0/1 for the
    boolean on SQLite); None for a project on the defaults, the common case,
    which then costs no object at all."""
    if enabled is None and project is None and endpoint is None:
        return None
    return ProjectRateLimits(
        enabled=None if enabled is None else bool(enabled),
        project=project,
        endpoint=endpoint,
    )
