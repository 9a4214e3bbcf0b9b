"""`timebank keys create PATH`: a new key that signs the log's checkpoints."""

from pathlib import Path
from typing import Annotated

import typer

from entrypoints.cli.common import fail, load_settings
from timebank.checkpoints import create_key_file

app = typer.Typer(help="The key that signs the log's checkpoints.", no_args_is_help=True)


@app.command("create")
def keys_create(
    path: Annotated[Path, typer.Argument(help="A new file to write the private key into")],
) -> None:
    """Writes a new Ed25519 signing key into PATH (mode 0600; an existing file is left as it
    is) and prints its public key as a verifier key: `<name>+<key id>+<key>`, the name being
    TIMEBANK_LOG_ORIGIN. Point TIMEBANK_SIGNING_KEY_FILE at PATH."""
    settings = load_settings()
    try:
        key = create_key_file(path, settings.log_origin)
    except FileExistsError:
        fail(f"{path} exists: a signing key is never overwritten")
    except OSError as e:
        fail(f"cannot write {path}: {e.strerror}", code=1)
    typer.echo(key.verifier_key)
