"""`verda-server admin reset` and `verda-server admin snapshot export|import`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from verda_server.control.cli import client, fail, show, table

snapshot_app = typer.Typer(no_args_is_help=True, help="Export or import the whole state.")

STDIO = "-"


def reset(
    ctx: typer.Context,
    project: Annotated[
        str | None, typer.Option(help="Reset this project only (default: every project).")
    ] = None,
    drop_projects: Annotated[
        bool,
        typer.Option(
            "--drop-projects",
            help="Drop the projects too, with their credentials (never the default project).",
        ),
    ] = False,
) -> None:
    """Delete every resource of one project or of every project."""
    body: dict[str, Any] = {"drop_projects": drop_projects}
    if project is not None:
        body["project_id"] = project
    answer = client(ctx).call("POST", "/reset", body)
    if client(ctx).as_json:
        show(ctx, answer)
        return
    typer.echo(f"projects reset    {answer['projects_reset']}")
    typer.echo(f"projects dropped  {answer['projects_dropped']}")
    _counts(answer["deleted"], "deleted")


def _counts(counts: dict[str, int], verb: str) -> None:
    rows = [{"kind": kind, verb: count} for kind, count in sorted(counts.items()) if count]
    typer.echo(table(rows, ["kind", verb]) if rows else f"nothing {verb}")


@snapshot_app.command("export")
def export(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="Where to write the snapshot; - for stdout.")],
) -> None:
    """Write the whole state as one JSON document (as sensitive as the store:
    it holds the signing keys)."""
    document = client(ctx).call("GET", "/snapshot")
    text = json.dumps(document, indent=1) + "\n"
    if file == STDIO:
        sys.stdout.write(text)
        return
    path = Path(file)
    # Created private: whoever reads it can mint tokens for every project.
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text, encoding="utf-8")
    counts = {name: len(rows) for name, rows in document["tables"].items()}
    if client(ctx).as_json:
        show(ctx, {"file": str(path), "rows": counts})
    else:
        _counts(counts, "rows")


@snapshot_app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="The snapshot to import; - for stdin.")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Wipe whatever the server holds first.")
    ] = False,
) -> None:
    """Import a snapshot into an empty server (or any, with --replace)."""
    try:
        text = sys.stdin.read() if file == STDIO else Path(file).read_text(encoding="utf-8")
        document = json.loads(text)
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
    except ValueError as exc:
        fail(f"{file} is not JSON: {exc}")
    params = {"replace": "true"} if replace else None
    answer = client(ctx).call("POST", "/snapshot", document, params=params)
    if client(ctx).as_json:
        show(ctx, answer)
    else:
        _counts(answer["imported"], "rows")
