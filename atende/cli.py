"""The `atende` command."""

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer

from atende.core.errors import Problem
from atende.core.models import Role
from atende.core.settings import Settings, get_settings

app = typer.Typer(help="Atende: WhatsApp numbers answered by AI agents.", no_args_is_help=True)
apikey_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")
log = logging.getLogger("atende.cli")


def _migrate(settings: Settings) -> None:
    from atende.core.migrate import upgrade

    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)


@app.command()
def migrate() -> None:
    """Apply database migrations."""
    _migrate(get_settings())
    typer.echo("database is up to date")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port")] = None,
) -> None:
    """Embedded mode: migrate, create the demo login on first start, serve."""
    from atende.bootstrap import ensure_demo

    settings = _settings_with(host, port)
    _migrate(settings)
    login = asyncio.run(ensure_demo(settings))
    typer.echo("")
    typer.echo(f"  Atende is running at {settings.base_url}")
    if login.password:
        typer.echo(f"  Sign in as {login.email} with password {login.password}")
        typer.echo(f"  (also kept in {login.stored_in}; delete that file once noted)")
    else:
        typer.echo(f"  Sign in as {login.email}")
    typer.echo("")
    _run(settings)


@app.command()
def web(
    host: Annotated[str | None, typer.Option(help="Listen address")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port")] = None,
) -> None:
    """Serve HTTP only (cluster mode: run `atende migrate` once before)."""
    _run(_settings_with(host, port))


@app.command()
def createuser(
    email: str,
    organisation: Annotated[str, typer.Option(help="Organisation to create or join")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    name: str = "",
    role: Annotated[Role, typer.Option(help="Role in the organisation")] = Role.owner,
) -> None:
    """Create a user in an organisation (created if no organisation has that name)."""
    from atende.bootstrap import create_user_in

    settings = get_settings()
    _migrate(settings)
    try:
        org_id = asyncio.run(
            create_user_in(
                settings,
                email=email,
                name=name,
                password=password,
                organisation=organisation,
                role=role,
            )
        )
    except Problem as problem:
        typer.echo(problem.detail, err=True)
        raise typer.Exit(1) from problem
    typer.echo(f"created {email} as {role.value} of organisation {org_id}")


@apikey_app.command("create")
def apikey_create(
    name: str,
    org_id: Annotated[int, typer.Option("--org", help="Organisation id")],
) -> None:
    """Create an API key; it is printed once."""
    from atende.bootstrap import create_key

    try:
        key = asyncio.run(create_key(get_settings(), org_id, name))
    except Problem as problem:
        typer.echo(problem.detail, err=True)
        raise typer.Exit(1) from problem
    typer.echo(key)


@app.command("settings-table")
def settings_table(
    check: Annotated[Path | None, typer.Option(help="Fail if this file lacks the table")] = None,
) -> None:
    """Print the Markdown table of settings (the README's, generated)."""
    from atende.core.settings_doc import settings_markdown

    table = settings_markdown()
    if check is not None:
        if table not in check.read_text():
            typer.echo(f"{check} does not contain the current settings table", err=True)
            raise typer.Exit(1)
        return
    typer.echo(table)


def _settings_with(host: str | None, port: int | None) -> Settings:
    settings = get_settings()
    updates = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    return settings.model_copy(update=updates) if updates else settings


def _run(settings: Settings) -> None:
    from atende.app import create_app
    from atende.server import run_server

    run_server(create_app(settings), settings)
