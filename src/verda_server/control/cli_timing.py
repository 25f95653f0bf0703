"""`verda-server admin lifecycle …` and `admin capacity …`"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from verda_server.control.cli import client, fail, show, table

lifecycle = typer.Typer(no_args_is_help=False, help="Read and change the lifecycle timing.")
capacity = typer.Typer(no_args_is_help=False, help="Read and set the capacity.")


def _show_lifecycle(ctx: typer.Context, answer: dict[str, Any]) -> None:
    if client(ctx).as_json:
        show(ctx, answer)
        return
    profile = answer["profiles"][answer["profile"]]
    rows = [
        {
            "transition": name,
            "seconds": seconds,
            "profile's": profile[name],
            "overridden": name in answer["overrides"],
        }
        for name, seconds in answer["durations"].items()
    ]
    typer.echo(f"profile {answer['profile']} (of {', '.join(answer['profiles'])})")
    typer.echo(table(rows, ["transition", "seconds", "profile's", "overridden"]))


@lifecycle.callback(invoke_without_command=True)
def read_lifecycle(ctx: typer.Context) -> None:
    """Show the profile and every transition's duration (when no subcommand is given)."""
    if ctx.invoked_subcommand is None:
        _show_lifecycle(ctx, client(ctx).call("GET", "/lifecycle"))


Seconds = Annotated[float | None, typer.Option(min=0, help="Override, seconds.")]


@lifecycle.command("set")
def set_lifecycle(
    ctx: typer.Context,
    profile: Annotated[str | None, typer.Option(help="Switch to this profile.")] = None,
    provisioning_seconds: Seconds = None,
    cluster_provisioning_seconds: Seconds = None,
    clone_seconds: Seconds = None,
    trash_seconds: Seconds = None,
    serverless_ready_seconds: Seconds = None,
    serverless_inference_seconds: Seconds = None,
    drop: Annotated[
        list[str] | None,
        typer.Option(help="Drop this transition's override (repeatable)."),
    ] = None,
    drop_all: Annotated[bool, typer.Option(help="Drop every override first.")] = False,
) -> None:
    """Switch profile, set or drop overrides. Transitions already scheduled keep
    their instants."""
    given = {
        "provisioning_seconds": provisioning_seconds,
        "cluster_provisioning_seconds": cluster_provisioning_seconds,
        "clone_seconds": clone_seconds,
        "trash_seconds": trash_seconds,
        "serverless_ready_seconds": serverless_ready_seconds,
        "serverless_inference_seconds": serverless_inference_seconds,
    }
    # Every transition named, set or dropped, makes --drop-all one change.
    overrides: dict[str, float | None] = dict.fromkeys(given if drop_all else drop or [])
    overrides.update({name: value for name, value in given.items() if value is not None})
    body: dict[str, Any] = {"overrides": overrides} if overrides else {}
    if profile is not None:
        body["profile"] = profile
    if not body:
        fail("give --profile, an override, --drop or --drop-all")
    _show_lifecycle(ctx, client(ctx).call("PUT", "/lifecycle", body))


def _rows(answer: dict[str, Any], location: str | None, name: str | None) -> list[dict[str, Any]]:
    rows = []
    for code, held in answer["locations"].items():
        if location not in (None, code):
            continue
        for type_name, kinds in held["instances"].items():
            for kind, units in kinds.items():
                rows.append({"location": code, "type": type_name, "kind": kind, **units})
        for type_name, units in held["clusters"].items():
            rows.append({"location": code, "type": type_name, "kind": "cluster", **units})
    return [row for row in rows if name in (None, row["type"])]


COLUMNS = ["location", "type", "kind", "total", "in_use", "free", "catalog"]


def _show_capacity(
    ctx: typer.Context, answer: dict[str, Any], location: str | None, name: str | None
) -> None:
    if client(ctx).as_json:
        show(ctx, answer)
    else:
        typer.echo(table(_rows(answer, location, name), COLUMNS))


@capacity.callback(invoke_without_command=True)
def read_capacity(
    ctx: typer.Context,
    location: Annotated[str | None, typer.Option(help="Only this location.")] = None,
    type_name: Annotated[
        str | None, typer.Option("--type", help="Only this instance or cluster type.")
    ] = None,
) -> None:
    """Show each type's units per location: total, in use, free, the catalog's
    (when no subcommand is given)."""
    if ctx.invoked_subcommand is None:
        _show_capacity(ctx, client(ctx).call("GET", "/capacity"), location, type_name)


@capacity.command("set")
def set_capacity(
    ctx: typer.Context,
    location: Annotated[str, typer.Argument(help="Location code, e.g. FIN-01.")],
    type_name: Annotated[str, typer.Argument(metavar="TYPE", help="Instance or cluster type.")],
    units: Annotated[int, typer.Argument(min=0, help="The new total.")],
    spot: Annotated[bool, typer.Option(help="Set the spot total of an instance type.")] = False,
    cluster: Annotated[bool, typer.Option(help="TYPE is a cluster type.")] = False,
) -> None:
    """Set the total of one type in one location (on-demand unless --spot)."""
    if spot and cluster:
        fail("clusters are never spot: give --spot or --cluster, not both")
    change: dict[str, Any] = (
        {"clusters": {type_name: units}}
        if cluster
        else {"instances": {type_name: {"spot" if spot else "on_demand": units}}}
    )
    answer = client(ctx).call("PUT", "/capacity", {"locations": {location: change}})
    _show_capacity(ctx, answer, location, type_name)


@capacity.command("reset")
def reset_capacity(ctx: typer.Context) -> None:
    """Back to the catalog's capacity everywhere."""
    answer = client(ctx).call("DELETE", "/capacity")
    if client(ctx).as_json:
        show(ctx, answer)
    else:
        typer.echo("capacity is the catalog's again")
