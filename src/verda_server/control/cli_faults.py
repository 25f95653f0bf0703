"""`verda-server admin faults …` and `verda-server admin instances force|evict …`"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from verda_server.control.cli import client, show

app = typer.Typer(no_args_is_help=False, help="Fault rules for public requests.")
instances = typer.Typer(no_args_is_help=True, help="Forced outcomes on instances.")

COLUMNS = (
    "id",
    "method",
    "path",
    "project_id",
    "status",
    "code",
    "latency_ms",
    "times",
    "probability",
    "seed",
    "matched",
    "fired",
    "remaining",
    "spent",
)


class Outcome(StrEnum):
    ERROR = "error"
    INSTALLATION_FAILED = "installation_failed"
    NO_CAPACITY = "no_capacity"


@app.callback(invoke_without_command=True)
def list_rules(ctx: typer.Context) -> None:
    """List the rules (when no subcommand is given)."""
    if ctx.invoked_subcommand is None:
        show(ctx, client(ctx).call("GET", "/faults"), COLUMNS)


@app.command()
def add(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="Path glob: `*` any characters, `?` one.")],
    method: Annotated[str, typer.Option(help="HTTP method, or * for any.")] = "*",
    project: Annotated[str | None, typer.Option(help="Only this project's requests.")] = None,
    status: Annotated[int | None, typer.Option(help="Answer with this error status.")] = None,
    code: Annotated[str | None, typer.Option(help="Answer with this error code.")] = None,
    message: Annotated[str | None, typer.Option(help="The error's message.")] = None,
    latency_ms: Annotated[int, typer.Option(help="Delay before going on, in ms.")] = 0,
    times: Annotated[int | None, typer.Option(help="Fire on this many calls only.")] = None,
    probability: Annotated[float, typer.Option(help="Fire with this probability.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of the probability draws.")] = 0,
) -> None:
    """Add a rule, e.g. `add /v1/instances --method POST --status 503 --times 2`."""
    body: dict[str, Any] = {
        "path": path,
        "method": method,
        "project_id": project,
        "status": status,
        "code": code,
        "message": message,
        "latency_ms": latency_ms,
        "times": times,
        "probability": probability,
        "seed": seed,
    }
    show(ctx, client(ctx).call("POST", "/faults", body))


@app.command("show")
def show_rule(ctx: typer.Context, rule_id: Annotated[str, typer.Argument()]) -> None:
    """Show one rule, with its counts."""
    show(ctx, client(ctx).call("GET", f"/faults/{rule_id}"))


@app.command()
def delete(ctx: typer.Context, rule_id: Annotated[str, typer.Argument()]) -> None:
    """Delete one rule."""
    client(ctx).call("DELETE", f"/faults/{rule_id}")


@app.command()
def clear(ctx: typer.Context) -> None:
    """Delete every rule."""
    client(ctx).call("DELETE", "/faults")


@instances.command()
def force(
    ctx: typer.Context,
    instance_id: Annotated[str, typer.Argument()],
    outcome: Annotated[Outcome, typer.Argument(help="The status to put it into.")],
) -> None:
    """Put an instance into error, installation_failed or no_capacity."""
    body = {"status": outcome.value}
    show(ctx, client(ctx).call("POST", f"/instances/{instance_id}/force", body))


@instances.command()
def evict(ctx: typer.Context, instance_id: Annotated[str, typer.Argument()]) -> None:
    """Evict a spot instance now."""
    show(ctx, client(ctx).call("POST", f"/instances/{instance_id}/evict"))
