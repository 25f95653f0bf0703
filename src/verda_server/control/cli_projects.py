"""`verda-server admin projects | credentials | quotas | balance …`"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from verda_server.control.cli import client, fail, show

projects_app = typer.Typer(no_args_is_help=True, help="List, create, show and delete projects.")
credentials_app = typer.Typer(no_args_is_help=True, help="A project's credential pairs.")
quotas_app = typer.Typer(no_args_is_help=True, help="A project's quotas.")
balance_app = typer.Typer(no_args_is_help=True, help="A project's money.")

ProjectId = Annotated[str, typer.Argument(help="The project's id.")]
PROJECT_COLUMNS = ("id", "name", "balance", "currency", "is_default", "created_at")
QUOTA_COLUMNS = ("kind", "quota", "used", "hard_max", "default")


# The server checks the bounds (and says them); no store models load for a command line.
KINDS = ("startup_scripts", "instances", "volumes", "clusters")
StartupScripts = Annotated[int | None, typer.Option(help="Most startup scripts.")]
Instances = Annotated[int | None, typer.Option(help="Most instances.")]
Volumes = Annotated[int | None, typer.Option(help="Most volumes (the trash counts).")]
Clusters = Annotated[int | None, typer.Option(help="Most clusters.")]


def _quotas(*values: int | None) -> dict[str, int]:
    return {kind: value for kind, value in zip(KINDS, values, strict=True) if value is not None}


def _quota_rows(quotas: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"kind": kind, **values} for kind, values in quotas.items()]


def _show_project(ctx: typer.Context, project: dict[str, Any]) -> None:
    if client(ctx).as_json:
        show(ctx, project)
        return
    plain = {k: v for k, v in project.items() if k not in ("quotas", "credentials", "credential")}
    plain["credentials"] = " ".join(c["client_id"] for c in project["credentials"]) or None
    show(ctx, plain)
    typer.echo()
    show(ctx, _quota_rows(project["quotas"]), QUOTA_COLUMNS)
    pair = project.get("credential")
    if pair is not None:
        typer.echo()
        typer.echo("Its credential pair (the secret is shown this once):")
        typer.echo(
            f"export VERDA_CLIENT_ID={pair['client_id']} "
            f"VERDA_CLIENT_SECRET={pair['client_secret']}"
        )


@projects_app.command("list")
def list_projects(ctx: typer.Context) -> None:
    """Every project, oldest first."""
    show(ctx, client(ctx).call("GET", "/projects"), PROJECT_COLUMNS)


@projects_app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="Its name (default Project).")] = None,
    balance: Annotated[str | None, typer.Option(help="Opening balance (default 1000).")] = None,
    currency: Annotated[str | None, typer.Option(help="usd (default) or eur.")] = None,
    client_id: Annotated[str | None, typer.Option(help="A known first pair's id.")] = None,
    client_secret: Annotated[str | None, typer.Option(help="A known first pair's secret.")] = None,
    no_credentials: Annotated[
        bool, typer.Option("--no-credentials", help="Make no credential pair.")
    ] = False,
    startup_scripts: StartupScripts = None,
    instances: Instances = None,
    volumes: Volumes = None,
    clusters: Clusters = None,
) -> None:
    """Create a project with a first credential pair, printed once."""
    body: dict[str, Any] = {
        key: value
        for key, value in {
            "name": name,
            "balance": balance,
            "currency": currency,
            "client_id": client_id,
            "client_secret": client_secret,
        }.items()
        if value is not None
    }
    quotas = _quotas(startup_scripts, instances, volumes, clusters)
    if quotas:
        body["quotas"] = quotas
    if no_credentials:
        body["credentials"] = False
    _show_project(ctx, client(ctx).call("POST", "/projects", body))


@projects_app.command("show")
def show_project(ctx: typer.Context, project_id: ProjectId) -> None:
    """A project's balance, quotas with what it holds, and credential ids."""
    _show_project(ctx, client(ctx).call("GET", f"/projects/{project_id}"))


@projects_app.command()
def delete(ctx: typer.Context, project_id: ProjectId) -> None:
    """Delete a project with everything in it."""
    client(ctx).call("DELETE", f"/projects/{project_id}")
    show(ctx, {"deleted": project_id})


@credentials_app.command("list")
def list_credentials(ctx: typer.Context, project_id: ProjectId) -> None:
    """A project's client ids (secrets are never shown again)."""
    answer = client(ctx).call("GET", f"/projects/{project_id}/credentials")
    show(ctx, answer, ("client_id", "created_at"))


@credentials_app.command()
def add(
    ctx: typer.Context,
    project_id: ProjectId,
    client_id: Annotated[str | None, typer.Option(help="A known pair's id.")] = None,
    client_secret: Annotated[str | None, typer.Option(help="A known pair's secret.")] = None,
) -> None:
    """Add a credential pair (given or generated), printed once."""
    if (client_id is None) != (client_secret is None):
        fail("give both --client-id and --client-secret, or neither")
    body = None if client_id is None else {"client_id": client_id, "client_secret": client_secret}
    answer = client(ctx).call("POST", f"/projects/{project_id}/credentials", body)
    if client(ctx).as_json:
        show(ctx, answer)
    else:
        typer.echo(
            f"export VERDA_CLIENT_ID={answer['client_id']} "
            f"VERDA_CLIENT_SECRET={answer['client_secret']}"
        )


@credentials_app.command()
def revoke(
    ctx: typer.Context,
    project_id: ProjectId,
    client_id: Annotated[str, typer.Argument(help="The credential's client id.")],
) -> None:
    """Revoke a credential: its tokens stop working at once."""
    client(ctx).call("DELETE", f"/projects/{project_id}/credentials/{client_id}")
    show(ctx, {"revoked": client_id})


@quotas_app.command("show")
def show_quotas(ctx: typer.Context, project_id: ProjectId) -> None:
    """A project's quotas and what it holds of each."""
    answer = client(ctx).call("GET", f"/projects/{project_id}/quotas")
    show(ctx, answer if client(ctx).as_json else _quota_rows(answer), QUOTA_COLUMNS)


@quotas_app.command("set")
def set_quotas(
    ctx: typer.Context,
    project_id: ProjectId,
    startup_scripts: StartupScripts = None,
    instances: Instances = None,
    volumes: Volumes = None,
    clusters: Clusters = None,
) -> None:
    """Set some quotas; one below what the project holds refuses only new creations."""
    quotas = _quotas(startup_scripts, instances, volumes, clusters)
    if not quotas:
        fail("give at least one of --startup-scripts, --instances, --volumes, --clusters")
    answer = client(ctx).call("PUT", f"/projects/{project_id}/quotas", quotas)
    show(ctx, answer if client(ctx).as_json else _quota_rows(answer), QUOTA_COLUMNS)


def _show_balance(ctx: typer.Context, answer: dict[str, Any]) -> None:
    if client(ctx).as_json:
        show(ctx, answer)
        return
    typer.echo(f"{answer['amount']} {answer['currency']}")
    if answer["entries"]:
        typer.echo()
        show(ctx, answer["entries"], ("at", "kind", "amount", "resource_kind", "resource_id"))


@balance_app.command("show")
def show_balance(ctx: typer.Context, project_id: ProjectId) -> None:
    """A project's balance and its latest money movements."""
    _show_balance(ctx, client(ctx).call("GET", f"/projects/{project_id}/balance"))


@balance_app.command("set")
def set_balance(
    ctx: typer.Context,
    project_id: ProjectId,
    amount: Annotated[str, typer.Argument(help="The new balance, exact.")],
) -> None:
    """Set a project's balance (the difference is booked in the ledger)."""
    answer = client(ctx).call("POST", f"/projects/{project_id}/balance", {"amount": amount})
    _show_balance(ctx, answer)


@balance_app.command("top-up")
def top_up(
    ctx: typer.Context,
    project_id: ProjectId,
    amount: Annotated[str, typer.Argument(help="What to add, exact.")],
) -> None:
    """Add to a project's balance."""
    answer = client(ctx).call("POST", f"/projects/{project_id}/balance", {"top_up": amount})
    _show_balance(ctx, answer)
