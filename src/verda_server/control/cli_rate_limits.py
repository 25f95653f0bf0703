"""`verda-server admin rate-limits …`"""

from __future__ import annotations

from typing import Annotated

import typer

from verda_server.control.cli import client, show
from verda_server.ratelimits.config import MAX_LIMIT

app = typer.Typer(no_args_is_help=True, help="Read and set a project's rate limits.")


@app.command("show")
def show_limits(
    ctx: typer.Context, project_id: Annotated[str, typer.Argument(help="The project's id.")]
) -> None:
    """Show a project's rate limits."""
    show(ctx, client(ctx).call("GET", f"/projects/{project_id}/rate-limits"))


@app.command("set")
def set_limits(
    ctx: typer.Context,
    project_id: Annotated[str, typer.Argument(help="The project's id.")],
    project: Annotated[
        int | None,
        typer.Option("--project", min=1, max=MAX_LIMIT, help="Requests per window, project."),
    ] = None,
    endpoint: Annotated[
        int | None,
        typer.Option(min=1, max=MAX_LIMIT, help="Requests per window per method + path."),
    ] = None,
    off: Annotated[bool, typer.Option("--off", help="No rate limits for the project.")] = False,
) -> None:
    """Replace a project's rate limits (an option left out: the server's default)."""
    body = {"enabled": not off, "project": project, "endpoint": endpoint}
    show(ctx, client(ctx).call("PUT", f"/projects/{project_id}/rate-limits", body))
