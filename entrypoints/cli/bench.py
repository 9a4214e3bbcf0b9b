"""`timebank bench`: the performance budget measured against references (bench/)."""

from typing import Annotated

import typer


def bench(
    quick: Annotated[
        bool, typer.Option("--quick", help="A small run of under two minutes (CI size)")
    ] = False,
    json_path: Annotated[
        str | None, typer.Option("--json", help="Also write every figure as JSON to PATH")
    ] = None,
    database_url: Annotated[
        str,
        typer.Option(
            help="PostgreSQL server to create a timebank_bench_<hex> database on, "
            "or sqlite:///PATH (or a directory) for a new SQLite file"
        ),
    ] = "postgresql://root@127.0.0.1:5432/test",
    clients: Annotated[int, typer.Option(min=1, help="Concurrent clients")] = 16,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the bench database instead of dropping it")
    ] = False,
    dataset_seconds: Annotated[
        float | None,
        typer.Option(min=0, help="Time box for building the full data set (full run only)"),
    ] = None,
    scale: Annotated[float, typer.Option(min=0.01, hidden=True)] = 1.0,
) -> None:
    """Measure SPEC.md's performance budget against references run on the same database."""
    from bench.main import Options, main

    options = Options(quick, json_path, database_url, clients, keep, dataset_seconds, scale)
    raise typer.Exit(main(options, typer.echo))
