"""`timebank verify BUNDLE.json --key KEY [--checkpoint KEPT ...]`: checks a certificate
bundle offline, with no database, no server and no settings."""

from pathlib import Path
from typing import Annotated

import typer

from timebank import verifier


def verify(
    bundle: Annotated[Path, typer.Argument(help="The bundle (JSON) of a certificate")],
    key: Annotated[
        str,
        typer.Option(
            help="The log's verifier key (`<name>+<key id>+<key>`, as GET /v1/log/public-key "
            "serves it), or a file holding it: kept from a channel you trust"
        ),
    ],
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(help="A file holding a signed checkpoint you kept earlier (repeatable)"),
    ] = None,
) -> None:
    """Checks a certificate bundle against the log's public key: the checkpoint's signature,
    the certificate event and its evidence in the log, the content's digest and minutes, and
    that each kept checkpoint is the same log. One line per check; exits 1 if any fails."""
    code = verifier.run(bundle, key, checkpoint or [], typer.echo)
    raise typer.Exit(code)
