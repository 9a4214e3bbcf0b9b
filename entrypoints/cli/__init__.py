"""The `timebank` command line: serve, db upgrade, token create, projections status/rebuild,
store reseal, keys create, audit, verify, bench; one module per command or group of commands.

Settings come from TIMEBANK_* environment variables (timebank.settings.Settings)."""

import typer
from pydantic import ValidationError

from entrypoints.cli import audit, bench, db, keys, projections, serve, store, tokens, verify

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
app.add_typer(store.app, name="store")
app.add_typer(keys.app, name="keys")
app.command()(serve.serve)
app.command("audit")(audit.audit_log)
app.command()(bench.bench)
app.command()(verify.verify)


def main() -> None:
    """The `timebank` program: every command logs as `serve` does (JSON lines on standard
    error, scrubbed of personal data: api/logging.py), from warnings up (what a command's
    output showed before; `serve` then logs at TIMEBANK_LOG_LEVEL), then runs. Tests call
    `app` itself and keep their own logging."""
    import logging

    from api.logging import configure_logging
    from timebank.settings import Settings

    try:
        level = Settings().log_level.upper()
    except (ValidationError, ValueError):
        level = "INFO"  # the command reports the invalid setting itself
    quietest = max(logging.getLevelNamesMapping().get(level, logging.INFO), logging.WARNING)
    configure_logging(logging.getLevelName(quietest))
    app()
