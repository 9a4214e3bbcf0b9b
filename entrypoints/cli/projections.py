"""`timebank projections status` and `rebuild`: the read models built from the event log."""

import time
from typing import Annotated

import typer

from entrypoints.cli.common import fail, runtime

app = typer.Typer(help="The read models built from the event log.", no_args_is_help=True)


@app.command("status")
def projections_status() -> None:
    """Show each projection's position, the log head, the lag, and why one is stuck; the
    same for the log's Merkle tree, with the size of its latest signed checkpoint."""
    with runtime() as rt:
        positions, failures = rt.runner.read_status()
        head = rt.runner.head()
        tree = rt.log_tree.head()
        checkpoint = rt.log_tree.latest_checkpoint()
    width = max((len(n) for n in positions), default=10) + 2
    typer.echo(f"{'projection':<{width}}{'position':>10}{'head':>10}{'lag':>10}  state")
    for projection, position in positions.items():
        failure = failures.get(projection)
        state = "following"
        if failure is not None:
            state = (
                f"STUCK since {failure.failed_since:%Y-%m-%d %H:%M:%S} UTC, "
                f"{failure.attempts} attempts: {failure.error}"
            )
        lag = max(head - position, 0)
        typer.echo(f"{projection:<{width}}{position:>10}{head:>10}{lag:>10}  {state}")
    lag = max(head - tree.position, 0)
    typer.echo(f"{'log tree':<{width}}{tree.position:>10}{head:>10}{lag:>10}  following")
    typer.echo(f"log head: {head}")
    signed = checkpoint.tree_size if checkpoint else 0
    typer.echo(f"log tree: {tree.tree_size} leaves, the latest checkpoint signs {signed}")
    if failures:
        raise typer.Exit(1)


@app.command("rebuild")
def projections_rebuild(
    name: Annotated[str | None, typer.Argument(help="A projection name (default: all)")] = None,
) -> None:
    """Rebuild read models from the start of the log, with a progress bar.

    The projections are replayed, in one pass over the log, into new tables while the
    current ones keep serving; the new tables replace the old ones in one transaction once
    they have caught up with the log."""
    with runtime() as rt:
        names = [p.name for p in rt.runner.projections]
        if name is not None and name not in names:
            fail(f"unknown projection {name!r}; known: {', '.join(names)}")
        chosen = [name] if name else names
        label = ", ".join(chosen)
        started = time.perf_counter()
        with typer.progressbar(length=max(rt.runner.head(), 1), label=label) as bar:

            def advance(position: int, head: int) -> None:
                bar.length = max(head, 1)
                bar.update(position - bar.pos)

            position = rt.runner.rebuild_together(chosen, advance)
        elapsed = time.perf_counter() - started
        typer.echo(f"{label}: rebuilt to position {position} in {elapsed:.1f} s")
