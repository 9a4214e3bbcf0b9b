"""`timebank db upgrade`: the read-model schema's migrations and the event tables."""

import typer
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

import migrations
from entrypoints.cli.common import describe, fail, load_settings, runtime
from timebank.settings import Settings

app = typer.Typer(help="The database schema.", no_args_is_help=True)


def schema_revision(settings: Settings) -> str | None:
    engine = create_engine(settings.store.sqlalchemy_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            revision: str | None = MigrationContext.configure(connection).get_current_revision()
            return revision
    finally:
        engine.dispose()


@app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the read-model schema to the latest revision and create the event tables."""
    settings = load_settings()
    try:
        before = schema_revision(settings)
    except Exception as e:
        fail(f"cannot open the store at {describe(settings)}: {e}", code=1)
    head = ScriptDirectory.from_config(migrations.alembic_config("sqlite://")).get_current_head()
    with runtime(settings) as rt:  # runs the migrations and creates the event tables
        events = rt.runner.head()
    after = schema_revision(settings)
    typer.echo(f"Store: {describe(settings)}")
    if before == after:
        typer.echo(f"Read-model schema: already at revision {after} (head {head})")
    else:
        typer.echo(f"Read-model schema: upgraded from {before or 'empty'} to revision {after}")
    typer.echo(f"Event store: tables ready ({events} events in the log)")
