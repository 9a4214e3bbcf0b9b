"""`timebank db upgrade`: the read-model schema's migrations and the event tables."""

import typer
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

import migrations
from entrypoints.cli.common import describe, fail, load_settings, runtime
from timebank.runtime import PLAINTEXT_STORE
from timebank.sealing import registrations_in_plaintext
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
    """Migrate the read-model schema to the latest revision and create the event tables.

    A store holding personal data in plaintext is migrated, then refused (exit 1) with the
    way out: `timebank store reseal`."""
    settings = load_settings()
    try:
        before = schema_revision(settings)
    except Exception as e:
        fail(f"cannot open the store at {describe(settings)}: {e}", code=1)
    head = ScriptDirectory.from_config(migrations.alembic_config("sqlite://")).get_current_head()
    # Runs the migrations and creates the event tables; a store in plaintext is brought up to
    # date too (the move into a sealed store reads it at the latest schema), then refused.
    with runtime(settings, plaintext_allowed=True) as rt:
        events = rt.runner.head()
        plaintext = registrations_in_plaintext(rt.app.mapper, rt.recorder)
    after = schema_revision(settings)
    typer.echo(f"Store: {describe(settings)}")
    if before == after:
        typer.echo(f"Read-model schema: already at revision {after} (head {head})")
    else:
        typer.echo(f"Read-model schema: upgraded from {before or 'empty'} to revision {after}")
    typer.echo(f"Event store: tables ready ({events} events in the log)")
    if plaintext:
        fail(PLAINTEXT_STORE, code=1)
