"""Secrets kept in files: read as they are, or (for the embedded default) generated beside
the database on first use."""

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from timebank.settings import Store

GENERATED_BYTES = 32


class SecretFileError(Exception):
    """A secret the process needs is missing or unreadable: it refuses to start."""


def read_secret(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes().strip()  # an editor's final newline is not part of it
    except OSError as e:
        raise SecretFileError(f"cannot read the {what} from {path}: {e.strerror}") from None


def generated(path: Path) -> Path:
    """The secret file at `path`, written (mode 0600, 32 random bytes as URL-safe text) unless
    it exists. Written aside and linked into place, so that two processes starting at once
    agree on one secret and neither reads a half-written file."""
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


def secret_file(
    configured: Path | None, store: Store, suffix: str, refusal: str, what: str
) -> bytes:
    """The secret in the `configured` file; with none, SQLite uses one generated into
    `<database>.<suffix>` on first use, and PostgreSQL (a deployment of many processes, its
    backups kept apart) refuses to start with `refusal`."""
    if configured is None:
        if not store.is_sqlite:
            raise SecretFileError(refusal)
        configured = generated(Path(f"{store.sqlite_path}.{suffix}"))
    return read_secret(configured, what)


def write_secret(path: Path, secret: bytes) -> None:
    """Writes `secret` into a new file at `path` (mode 0600); an existing file is left as it
    is and raises FileExistsError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(secret + b"\n")
