"""`verda-server admin clock …`"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from verda_server.control.cli import client, fail, show

app = typer.Typer(no_args_is_help=False, help="Read and move the server clock.")


@app.callback(invoke_without_command=True)
def read(ctx: typer.Context) -> None:
    """Show the server's now (when no subcommand is given)."""
    if ctx.invoked_subcommand is None:
        show(ctx, client(ctx).call("GET", "/clock"))


@app.command()
def advance(
    ctx: typer.Context,
    seconds: Annotated[float | None, typer.Argument(help="Seconds to move forward.")] = None,
    to: Annotated[
        datetime | None, typer.Option(help="Move to this instant instead (RFC 3339 with zone).")
    ] = None,
) -> None:
    """Move the clock forward by SECONDS, or --to an instant."""
    if (seconds is None) == (to is None):
        fail("give SECONDS or --to, one of them")
    body = {"seconds": seconds} if to is None else {"to": to.isoformat()}
    show(ctx, client(ctx).call("POST", "/clock/advance", body))


@app.command()
def freeze(ctx: typer.Context) -> None:
    """Stop the clock where it stands."""
    show(ctx, client(ctx).call("POST", "/clock/freeze"))


@app.command()
def unfreeze(ctx: typer.Context) -> None:
    """Let the clock run on from where it stands."""
    show(ctx, client(ctx).call("POST", "/clock/unfreeze"))
