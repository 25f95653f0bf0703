"""A project's own rate limits: read and set (the control API's operations)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from verda_server.api.errors import invalid, not_found
from verda_server.projects.models import Project
from verda_server.ratelimits.config import MAX_LIMIT, ProjectRateLimits


def get_project_limits(session: Session, project_id: str) -> ProjectRateLimits:
    project = _project(session, project_id)
    return ProjectRateLimits(
        enabled=project.rate_limits_enabled,
        project=project.rate_limit_project,
        endpoint=project.rate_limit_endpoint,
    )


def set_project_limits(
    session: Session, project_id: str, limits: ProjectRateLimits
) -> ProjectRateLimits:
    """Replace the project's settings (None in a field: back to the server's
    default). Effective from its next request, on every replica: every request
    reads them with its credential."""
    for name, value in (("project", limits.project), ("endpoint", limits.endpoint)):
        if value is not None and not 1 <= value <= MAX_LIMIT:
            raise invalid(f"{name}: must be between 1 and {MAX_LIMIT}")
    project = _project(session, project_id)
    project.rate_limits_enabled = limits.enabled
    project.rate_limit_project = limits.project
    project.rate_limit_endpoint = limits.endpoint
    return limits


def _project(session: Session, project_id: str) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise not_found(f"Project {project_id} not found")
    return project
