"""`timebank serve`: the HTTP API, the projections and the sweeper, in one process or with
HTTP worker processes beside the one that runs the projections; `--demo` seeds a demo town."""

import os
import time
from typing import Annotated

import typer

from entrypoints.cli.common import fail, load_settings, runtime
from ledger.context import Role
from ledger.errors import Conflict
from timebank.metrics import process_mode
from timebank.runtime import POLL_SECONDS_OTHERS_WRITE, Runtime, freeze_startup_heap


def new_admin_token(rt: Runtime, prefix: str = "demo-admin") -> tuple[str, str]:
    """Creates an admin token under the first free name prefix-1, prefix-2, ..."""
    n = 1
    while True:
        name = f"{prefix}-{n}"
        try:
            return name, rt.tokens.create(Role.ADMIN, name)
        except Conflict:
            n += 1


def url_host(host: str) -> str:
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def prepare_demo(rt: Runtime) -> None:
    from entrypoints.demo import seed_demo, summary

    if rt.app.recorder.max_notification_id():
        typer.echo("Demo: the store already has events; not seeding the demo town again.")
    else:
        typer.echo("Demo: seeding the demo town ...")
        started = time.perf_counter()
        town = seed_demo(rt)
        elapsed = time.perf_counter() - started
        typer.echo(f"Demo: {town.commands} commands in {elapsed:.1f} s: {summary(town)}")
        typer.echo(f"Demo district 西湖区: {town.district_id}")
        typer.echo(f"Demo venue (兑换点): {town.venue_id}")
    name, token = new_admin_token(rt)
    typer.echo(f"Admin token ({name}): {token}")


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on [TIMEBANK_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [TIMEBANK_PORT]")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="HTTP worker processes (PostgreSQL); this process then runs the projections "
            "and the sweeper. 0: all in this process [TIMEBANK_WORKERS]",
        ),
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Seed a demo town if the store is empty; print a token")
    ] = False,
) -> None:
    """Run the HTTP API, the projections and the sweeper."""
    from api.logging import configure_logging

    settings = load_settings() if workers is None else load_settings(workers=workers)
    configure_logging(settings.log_level)
    host = settings.host if host is None else host
    port = settings.port if port is None else port
    with process_mode(settings), runtime(settings) as rt:
        if demo:
            prepare_demo(rt)
        base = f"http://{url_host(host)}:{port}"
        typer.echo(f"API:    {base}/v1")
        typer.echo(f"Docs:   {base}/docs")
        typer.echo(f"Health: {base}/healthz")
        if settings.metrics_token is not None:
            typer.echo(f"Metrics: {base}/metrics (with the metrics token)")
        if settings.metrics_port is not None:
            where = f"{url_host(settings.metrics_host)}:{settings.metrics_port}"
            typer.echo(f"Metrics: http://{where}/metrics")
        if settings.workers:
            serve_with_workers(rt, host, port)
        else:
            serve_in_one_process(rt, host, port)


def serve_in_one_process(rt: Runtime, host: str, port: int) -> None:
    import uvicorn

    from api.app import create_app
    from api.serving import server_config

    rt.start()
    api = create_app(rt)
    freeze_startup_heap()
    uvicorn.Server(server_config(api, rt.settings, host, port)).run()


def serve_with_workers(rt: Runtime, host: str, port: int) -> None:
    """This process follows the log into the read models and sweeps; uvicorn's supervisor
    starts the HTTP workers (entrypoints.worker), replaces one that dies and stops them on a
    signal. The workers read the settings from the environment, as this process did."""
    from uvicorn.config import STARTUP_FAILURE

    from api.serving import server_config
    from entrypoints.supervisor import WorkerSupervisor

    workers = rt.settings.workers
    typer.echo(f"Workers: {workers} HTTP processes; projections and sweeper in {os.getpid()}")
    rt.start(poll_seconds=POLL_SECONDS_OTHERS_WRITE)
    config = server_config(
        "entrypoints.worker:create_worker_app",
        rt.settings,
        host,
        port,
        factory=True,
        workers=workers,
    )
    sockets = [config.bind_socket()]
    supervisor = WorkerSupervisor(config, sockets, on_exit=rt.metrics.process_ended)
    freeze_startup_heap()
    supervisor.run()
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        fail("an HTTP worker could not start; see the log above", code=1)
