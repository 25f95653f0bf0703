"""`verda-server admin …`: the control API from the command line, over HTTP.

Each area adds its commands as a Typer app of its own file (control/cli_*.py),
listed in SUBCOMMANDS below; they reach the server through `client(ctx)` and
print through `show`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

import typer

DEFAULT_URL = "http://127.0.0.1:3010"
TOKEN_ENV = "VERDA_SERVER_ADMIN_TOKEN"
URL_ENV = "VERDA_SERVER_URL"

app = typer.Typer(
    no_args_is_help=True,
    help="Drive a running server through its control API (/_admin/v1).",
)


@dataclass
class Admin:
    url: str
    token: str | None
    as_json: bool
    transport: Any = None  # an httpx transport, for tests

    def call(self, method: str, path: str, body: Any = None, params: Any = None) -> Any:
        """One call to the control API: its JSON answer, or the command ends
        with the server's `code: message` on stderr and status 1."""
        if not self.token:
            fail(f"give the admin token with --admin-token or {TOKEN_ENV}")
        import httpx  # only the admin commands need it; keeps `serve` quick to start

        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            with httpx.Client(
                base_url=self.url, headers=headers, timeout=30, transport=self.transport
            ) as http:
                response = http.request(method, "/_admin/v1" + path, json=body, params=params)
        except httpx.HTTPError as exc:
            fail(f"cannot reach {self.url}: {exc}")
        if response.status_code >= 400:
            try:
                error = response.json()
                fail(f"{error['code']}: {error['message']}", status=1)
            except (ValueError, KeyError, TypeError):
                fail(f"HTTP {response.status_code}: {response.text[:200]}", status=1)
        return response.json() if response.content else None


def fail(message: str, status: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(status)


@app.callback()
def _options(
    ctx: typer.Context,
    url: Annotated[
        str, typer.Option(envvar=URL_ENV, help="The server, e.g. http://127.0.0.1:3010.")
    ] = DEFAULT_URL,
    admin_token: Annotated[
        str | None, typer.Option(envvar=TOKEN_ENV, help="The server's admin token.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, not tables.")] = False,
) -> None:
    if ctx.obj is None:
        ctx.obj = Admin(url.rstrip("/"), admin_token, as_json)


def client(ctx: typer.Context) -> Admin:
    admin = ctx.find_object(Admin)
    assert admin is not None, "the admin callback sets it"
    return admin


def show(ctx: typer.Context, answer: Any, columns: Sequence[str] | None = None) -> None:
    """Print an answer: JSON with --json; otherwise a table of `columns` for a
    list, or `key  value` lines for an object."""
    if client(ctx).as_json:
        typer.echo(json.dumps(answer, indent=2, sort_keys=True))
    elif isinstance(answer, list):
        typer.echo(table(answer, columns or sorted({k for row in answer for k in row})))
    elif isinstance(answer, dict):
        width = max((len(key) for key in answer), default=0)
        for key, value in answer.items():
            typer.echo(f"{key.ljust(width)}  {_cell(value)}")
    elif answer is not None:
        typer.echo(str(answer))


def table(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = [columns, *cells]
    return "\n".join(
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _register() -> None:
    # Imported here: the areas' files import this module for `client` and `show`.
    from verda_server.control import (
        cli_clock,
        cli_faults,
        cli_projects,
        cli_rate_limits,
        cli_snapshot,
        cli_timing,
    )

    subcommands: dict[str, typer.Typer] = {
        "clock": cli_clock.app,
        "projects": cli_projects.projects_app,
        "credentials": cli_projects.credentials_app,
        "quotas": cli_projects.quotas_app,
        "balance": cli_projects.balance_app,
        "rate-limits": cli_rate_limits.app,
        "snapshot": cli_snapshot.snapshot_app,
        "faults": cli_faults.app,
        "instances": cli_faults.instances,
        "lifecycle": cli_timing.lifecycle,
        "capacity": cli_timing.capacity,
    }
    for name, sub in subcommands.items():
        app.add_typer(sub, name=name)
    # Commands without subcommands of their own.
    app.command("reset")(cli_snapshot.reset)


_register()
