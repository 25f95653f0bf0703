"""`verda-server instances …`: the host's side of `serve --instances podman`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from verda_server.cli_common import fail
from verda_server.config import DEFAULT_DATA_DIR
from verda_server.machines.cleanup import cleanup as clean_up
from verda_server.machines.errors import MachineSetupError
from verda_server.machines.podman import EngineError

app = typer.Typer(no_args_is_help=True, help="Manage the host's podman instances.")


@app.command()
def cleanup(
    data_dir: Annotated[
        Path,
        typer.Option(envvar="VERDA_SERVER_DATA_DIR", help="The data directory of the server."),
    ] = DEFAULT_DATA_DIR,
    machines_dir: Annotated[
        Path | None,
        typer.Option(
            envvar="VERDA_SERVER_MACHINES_DIR",
            help="The machines directory, when serve was given one (default: <data-dir>/machines).",
        ),
    ] = None,
    everything: Annotated[
        bool,
        typer.Option("--all", help="Also remove the base images and the volumes' data."),
    ] = False,
) -> None:
    """Remove the podman driver's containers, networks, mounts and instance files.

    The base images and the volumes' data stay, unless --all."""
    try:
        removed = clean_up(machines_dir or data_dir / "machines", everything=everything)
    except (MachineSetupError, EngineError) as exc:
        fail(str(exc))
    for line in removed:
        typer.echo(f"removed {line}")
    if not removed:
        typer.echo("nothing to remove")
