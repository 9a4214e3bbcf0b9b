"""The `timebank` command line: serve, db upgrade, token create, projections status/rebuild,
bench; one module per command or group of commands.

Settings come from TIMEBANK_* environment variables (timebank.settings.Settings)."""

import typer

from entrypoints.cli import bench, db, projections, serve, tokens

app = typer.Typer(
    name="timebank",
    help="An event-sourced service-hour ledger (time bank) for volunteer service.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(tokens.app, name="token")
app.add_typer(projections.app, name="projections")
app.command()(serve.serve)
app.command()(bench.bench)
