"""The id pepper: the key of the hash that identifies the claim of an ID document (and, by
default, of the seal on stored responses). It is set once per deployment and never changed:
a new one would let every document registered before register again."""

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from ledger.identity import PUBLISHED_PEPPER
from timebank.settings import Settings

GENERATED_BYTES = 32


class PepperError(Exception):
    """No usable pepper: the process refuses to start."""


def load_pepper(settings: Settings) -> bytes:
    """TIMEBANK_ID_PEPPER, or the content of TIMEBANK_ID_PEPPER_FILE; with neither, SQLite
    uses a pepper generated into a file beside its database on first use, and PostgreSQL
    (a deployment, shared by many processes) refuses to start. The published default is
    refused on PostgreSQL whichever way it comes."""
    if settings.id_pepper_file is not None:
        pepper = _read(settings.id_pepper_file)
    elif settings.id_pepper is not None:
        pepper = settings.id_pepper.get_secret_value().encode()
    elif settings.store.is_sqlite:
        pepper = _read(_generated(Path(f"{settings.store.sqlite_path}.pepper")))
    else:
        raise PepperError(
            "PostgreSQL needs an id pepper of its own: set TIMEBANK_ID_PEPPER or "
            "TIMEBANK_ID_PEPPER_FILE to a long random secret"
        )
    if not pepper:
        raise PepperError("the id pepper is empty")
    if pepper == PUBLISHED_PEPPER and not settings.store.is_sqlite:
        raise PepperError(
            "the id pepper is the published default: set TIMEBANK_ID_PEPPER or "
            "TIMEBANK_ID_PEPPER_FILE to a long random secret"
        )
    return pepper


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes().strip()  # an editor's final newline is not part of it
    except OSError as e:
        raise PepperError(f"cannot read the id pepper from {path}: {e.strerror}") from None


def _generated(path: Path) -> Path:
    """The pepper file at `path`, written (mode 0600) unless it exists. Written aside and
    linked into place, so that two processes starting at once agree on one pepper and
    neither reads a half-written file."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, aside = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(GENERATED_BYTES) + "\n")
        with contextlib.suppress(FileExistsError):  # another process was first
            os.link(aside, path)
    finally:
        os.unlink(aside)
    return path
