"""`timebank audit`: the log's Merkle tree recomputed from the store and checked against the
stored tree, the stored checkpoints and checkpoints kept outside."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from entrypoints.cli.common import describe, fail, load_settings
from timebank.audit import KeptCheckpoint, VerifierKey, audit, open_store, parse_verifier_key
from timebank.checkpoints import load_signing_key, signing_key_path
from timebank.keyfiles import SecretFileError
from timebank.settings import Settings


def _verifier(settings: Settings, key: str | None) -> VerifierKey:
    if key is not None:
        try:
            return parse_verifier_key(key)
        except ValueError as e:
            fail(f"--key: {e}")
    try:
        path = signing_key_path(settings)
        if not path.exists():  # an auditor's machine: never generate one
            raise SecretFileError(f"there is no signing key at {path}")
        return VerifierKey.of(load_signing_key(settings)[0])
    except SecretFileError as e:
        fail(f"give the log's public key with --key (GET /v1/log/public-key): {e}")


def _kept(paths: list[Path]) -> list[KeptCheckpoint]:
    kept = []
    for path in paths:
        try:
            kept.append(KeptCheckpoint(str(path), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as e:
            fail(f"cannot read the checkpoint {path}: {e}")
    return kept


def audit_log(
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            help="the log's public key as a C2SP verifier key, `<name>+<key id>+<key>` "
            "(GET /v1/log/public-key, obtained by a channel you trust); default: the public "
            "half of the configured signing key",
        ),
    ] = None,
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint",
            help="a signed checkpoint kept outside the store (as GET /v1/log/checkpoint "
            "served it); repeat for several",
        ),
    ] = None,
) -> None:
    """Recompute the log's Merkle tree from the stored events and check it: against the
    stored tree, every stored signed checkpoint, and the checkpoints given with --checkpoint.

    Needs read access to the store and the public key only. Prints one line per check; exits
    1 on any finding, naming the first log position that differs."""
    settings = load_settings()
    verifier = _verifier(settings, key)
    kept = _kept(checkpoint or [])
    try:
        with open_store(settings) as (recorder, db):
            head = recorder.max_notification_id() or 0
            with typer.progressbar(length=max(head, 1), label="audit", file=sys.stderr) as bar:
                report = audit(
                    recorder,
                    db,
                    verifier,
                    kept,
                    progress=lambda position: bar.update(min(position, head) - bar.pos),
                )
    except Exception as e:
        fail(f"cannot audit the store at {describe(settings)}: {e}", code=1)
    for check in report.checks:
        if check.passed:
            typer.echo(f"ok    {check.name}: {check.detail}")
            continue
        first, *more = check.findings
        also = f" (and {len(more)} more)" if more else ""
        typer.echo(f"FAIL  {check.name}: {first.message}{also}")
    if report.passed:
        typer.echo(f"audit passed: {report.events} events, every check holds")
        return
    found = report.first_difference
    where = ""
    if found is not None:
        at = "" if found.exact else "at or after "
        where = (
            f"; the first difference: {at}log position {found.position} (leaf {found.leaf_index})"
        )
    typer.echo(f"audit FAILED: {len(report.findings)} findings{where}")
    raise typer.Exit(1)
