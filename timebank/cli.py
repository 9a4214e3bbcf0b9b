"""The `timebank` command line: serve, db upgrade, token create, projections status/rebuild.

Settings come from TIMEBANK_* environment variables (timebank.settings.Settings)."""

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn
from uuid import UUID

import typer
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic import ValidationError
from sqlalchemy import create_engine, pool

import migrations
from ledger.context import Role
from ledger.errors import Conflict, DomainError, Invalid
from ledger.organisations import Organisation, OrgKind
from ledger.volunteers import Volunteer
from timebank.metrics import process_mode
from timebank.runtime import POLL_SECONDS_OTHERS_WRITE, Runtime, freeze_startup_heap
from timebank.settings import Settings

app = typer.Typer(
    name="timebank",
    help="An event-sourced service-hour ledger (time bank) for volunteer service.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
projections_app = typer.Typer(
    help="The read models built from the event log.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")
app.add_typer(projections_app, name="projections")

SCOPE_OPTION = {Role.COORDINATOR: "--org", Role.DESK: "--venue", Role.VOLUNTEER: "--volunteer"}
TOKEN_ROLES = tuple(r for r in Role if r is not Role.SYSTEM)


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
def runtime(settings: Settings | None = None) -> Iterator[Runtime]:
    """Opens the store (running migrations); domain errors become a message and exit 2."""
    settings = settings or load_settings()
    try:
        rt = Runtime(settings)
    except Exception as e:
        fail(f"cannot open the store at {describe(settings)}: {e}", code=1)
    try:
        yield rt
    except DomainError as e:
        fail(f"{e.detail} ({e.code})")
    finally:
        rt.close()


# serve --------------------------------------------------------------------------------------


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
    from timebank.demo import seed_demo, summary

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


@app.command()
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
    starts the HTTP workers (api.worker), replaces one that dies and stops them on a signal.
    The workers read the settings from the environment, as this process did."""
    from uvicorn.config import STARTUP_FAILURE

    from api.serving import server_config
    from timebank.supervisor import WorkerSupervisor

    workers = rt.settings.workers
    typer.echo(f"Workers: {workers} HTTP processes; projections and sweeper in {os.getpid()}")
    rt.start(poll_seconds=POLL_SECONDS_OTHERS_WRITE)
    config = server_config(
        "api.worker:create_worker_app", rt.settings, host, port, factory=True, workers=workers
    )
    sockets = [config.bind_socket()]
    supervisor = WorkerSupervisor(config, sockets, on_exit=rt.metrics.process_ended)
    freeze_startup_heap()
    supervisor.run()
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        fail("an HTTP worker could not start; see the log above", code=1)


# db -----------------------------------------------------------------------------------------


def schema_revision(settings: Settings) -> str | None:
    engine = create_engine(settings.store.sqlalchemy_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            revision: str | None = MigrationContext.configure(connection).get_current_revision()
            return revision
    finally:
        engine.dispose()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the read-model schema to the latest revision and create the event tables."""
    settings = load_settings()
    try:
        before = schema_revision(settings)
    except Exception as e:
        fail(f"cannot open the store at {describe(settings)}: {e}", code=1)
    head = ScriptDirectory.from_config(migrations.alembic_config("sqlite://")).get_current_head()
    with runtime(settings) as rt:  # runs the migrations and creates the event tables
        events = rt.runner.head()
    after = schema_revision(settings)
    typer.echo(f"Store: {describe(settings)}")
    if before == after:
        typer.echo(f"Read-model schema: already at revision {after} (head {head})")
    else:
        typer.echo(f"Read-model schema: upgraded from {before or 'empty'} to revision {after}")
    typer.echo(f"Event store: tables ready ({events} events in the log)")


# token --------------------------------------------------------------------------------------


def check_scope(rt: Runtime, role: Role, scope_id: UUID) -> None:
    if role is Role.VOLUNTEER:
        rt.service.load(Volunteer, scope_id, "volunteer")
        return
    org = rt.service.load(Organisation, scope_id, "organisation")
    if role is Role.DESK and org.kind is not OrgKind.VENUE:
        raise Invalid("not-a-venue", f"{org.name} ({org.kind.value}) is not a venue")


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="admin, coordinator, desk, auditor or volunteer")],
    name: Annotated[str, typer.Option(help="A unique name to recognise the token by")],
    org: Annotated[UUID | None, typer.Option(help="The organisation of a coordinator")] = None,
    venue: Annotated[UUID | None, typer.Option(help="The venue of a desk")] = None,
    volunteer: Annotated[UUID | None, typer.Option(help="The volunteer of a volunteer")] = None,
) -> None:
    """Create an API token; it is printed alone on the last line and never shown again."""
    try:
        chosen = Role(role.strip().lower())
    except ValueError:
        chosen = Role.SYSTEM
    if chosen not in TOKEN_ROLES:
        fail(f"unknown role {role!r}; use one of {', '.join(r.value for r in TOKEN_ROLES)}")
    given = {
        option: value
        for option, value in (("--org", org), ("--venue", venue), ("--volunteer", volunteer))
        if value is not None
    }
    wanted = SCOPE_OPTION.get(chosen)
    if wanted is None and given:
        fail(f"an {chosen.value} token takes no scope; drop {', '.join(given)}")
    if wanted is not None and set(given) != {wanted}:
        fail(f"a {chosen.value} token needs {wanted} ID (and no other scope option)")
    scope_id = given.get(wanted) if wanted else None
    with runtime() as rt:
        if scope_id is not None:
            check_scope(rt, chosen, scope_id)
        token = rt.tokens.create(chosen, name, scope_id)
    scope = f" for {wanted} {scope_id}" if scope_id else ""
    message = f"Created {chosen.value} token {name.strip()!r}{scope}; it is shown only once:"
    typer.echo(message, err=True)  # so that TOKEN=$(timebank token create ...) gets the token
    typer.echo(token)


# projections ----------------------------------------------------------------------------------


@projections_app.command("status")
def projections_status() -> None:
    """Show each projection's position, the log head, the lag, and why one is stuck."""
    with runtime() as rt:
        positions, failures = rt.runner.read_status()
        head = rt.runner.head()
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
    typer.echo(f"log head: {head}")
    if failures:
        raise typer.Exit(1)


@projections_app.command("rebuild")
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


# bench ----------------------------------------------------------------------------------------


@app.command()
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


if __name__ == "__main__":
    app()
