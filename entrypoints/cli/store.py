"""`timebank store reseal --to URL`: moves a store written before personal data was sealed
into a new, empty store that seals it (timebank/reseal.py), and reports, table by table,
that the new store's read models are the old one's."""

from pathlib import Path
from typing import Annotated

import typer

from entrypoints.cli.common import describe, fail, load_settings, runtime
from timebank.reseal import COPIED_TABLES, NOT_COPIED, Reseal, ResealRefused, share_pepper

app = typer.Typer(help="The store as a whole.", no_args_is_help=True)


@app.command("reseal")
def store_reseal(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="The new, empty store: sqlite:///PATH or postgresql://... (same form "
            "as TIMEBANK_DATABASE_URL)",
        ),
    ],
    master_key_file: Annotated[
        Path | None,
        typer.Option(
            help="The new store's master key file (default: TIMEBANK_MASTER_KEY_FILE, or on "
            "SQLite one generated beside the new database)"
        ),
    ] = None,
) -> None:
    """Copy the store (TIMEBANK_DATABASE_URL) into a new, empty store, sealing the personal
    data written before sealing existed; then check every read model of the new store
    against the old one's (exit 1 on any difference).

    The new store must use the same id pepper (the claims of ID documents are keyed hashes of
    it) and uses its own master key. Copied: every event (same positions, ids, versions,
    topics and times), the tokens and the PIN hashes. Not copied: snapshots, stored
    idempotency responses, counts of wrong codes and PINs, data keys. An interrupted move is
    not resumed: drop the new store and run it again."""
    source_settings = load_settings()
    overrides: dict[str, object] = {"database_url": to}
    if master_key_file is not None:
        overrides["master_key_file"] = master_key_file
    target_settings = load_settings(**overrides)
    if target_settings.store.url == source_settings.store.url:
        fail("--to names the store itself: give a new, empty store")
    try:
        share_pepper(source_settings, target_settings)
    except ResealRefused as e:
        fail(str(e))
    with (
        runtime(source_settings, plaintext_allowed=True) as source,
        runtime(target_settings) as target,
    ):
        reseal = Reseal(source, target)
        try:
            reseal.refuse_unless_empty()
        except ResealRefused as e:
            fail(str(e))
        typer.echo(f"From: {describe(source_settings)}")
        typer.echo(f"To:   {describe(target_settings)}")
        head = reseal.head()
        with typer.progressbar(length=max(head, 1), label="events") as bar:

            def advance(position: int, _head: int) -> None:
                bar.update(position - bar.pos)

            events = reseal.copy_events(advance)
        typer.echo(f"Events: {events} copied, up to position {head}, personal data sealed")
        for table, rows in reseal.copy_tables().items():
            typer.echo(f"Copied: {table}: {rows} rows")
        typer.echo(f"Not copied: {'; '.join(NOT_COPIED)}")
        typer.echo("Read models: catching up both stores ...")
        try:
            reseal.catch_up()
        except Exception as e:
            # Its text may quote a row's values: `projections status` shows it in full.
            fail(
                f"a read model could not catch up ({type(e).__name__}): see "
                "`timebank projections status` on each store",
                code=1,
            )
        width = max(len(t) for t in [*reseal.read_model_tables(), *COPIED_TABLES]) + 2
        typer.echo(f"{'table':<{width}}{'old rows':>10}{'new rows':>10}  verdict")
        failed = []
        for check in reseal.compare():
            verdict = "matches" if check.matches else f"DIFFERS ({check.differences} rows)"
            typer.echo(
                f"{check.table:<{width}}{check.source_rows:>10}{check.target_rows:>10}  {verdict}"
            )
            for shown in check.shown:
                typer.echo(f"    {shown}")
            if not check.matches:
                failed.append(check.table)
    if failed:
        fail(f"the new store's read models differ from the old one's: {', '.join(failed)}", 1)
    typer.echo("Every read model of the new store equals the old store's.")
    typer.echo(
        "Next: serve the new store (TIMEBANK_DATABASE_URL, with the same id pepper and the new "
        "store's master key), then destroy the old store: its database or files, and every "
        "backup of them, hold the personal data in plaintext."
    )
