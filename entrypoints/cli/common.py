"""What the commands share: settings from the environment, the runtime, and failing with a
message and an exit code."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from pydantic import ValidationError

from ledger.errors import DomainError
from timebank.pepper import PepperError
from timebank.runtime import PlaintextStore, Runtime
from timebank.settings import Settings


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def load_settings(**overrides: Any) -> Settings:
    """Settings from TIMEBANK_* environment variables, and `overrides` from options."""
    try:
        settings = Settings(**overrides)
        settings.store  # noqa: B018 - validates TIMEBANK_DATABASE_URL
    except (ValidationError, ValueError) as e:
        fail(f"invalid settings: {e}")
    return settings


def describe(settings: Settings) -> str:
    return settings.store.url.render_as_string(hide_password=True)


@contextmanager
def runtime(settings: Settings | None = None, plaintext_allowed: bool = False) -> Iterator[Runtime]:
    """Opens the store (running migrations); domain errors become a message and exit 2. A
    store holding personal data in plaintext is refused with exit 1, as a store that cannot
    be opened is: the invocation was right, the store is not fit to serve."""
    settings = settings or load_settings()
    try:
        rt = Runtime(settings, plaintext_allowed=plaintext_allowed)
    except PepperError as e:
        fail(f"invalid settings: {e}")
    except PlaintextStore as e:
        fail(str(e), code=1)
    except Exception as e:
        fail(f"cannot open the store at {describe(settings)}: {e}", code=1)
    try:
        yield rt
    except DomainError as e:
        fail(f"{e.detail} ({e.code})")
    finally:
        rt.close()
