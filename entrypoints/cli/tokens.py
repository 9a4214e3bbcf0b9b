"""`timebank token create|list|revoke`: API tokens, printed once and stored only as hashes;
each expires, and a revoked one is refused by every process within a second."""

import sys
from typing import Annotated
from uuid import UUID

import segno
import typer

from entrypoints.cli.common import fail, runtime
from ledger.context import Role
from ledger.errors import Invalid
from ledger.organisations import Organisation, OrgKind
from ledger.volunteers import Volunteer
from projections.pagination import Page
from timebank.runtime import Runtime
from timebank.tokens import MAX_TOKEN_DAYS, TokenInfo

app = typer.Typer(help="API tokens.", no_args_is_help=True)

SCOPE_OPTION = {Role.COORDINATOR: "--org", Role.DESK: "--venue", Role.VOLUNTEER: "--volunteer"}
TOKEN_ROLES = tuple(r for r in Role if r is not Role.SYSTEM)


def check_scope(rt: Runtime, role: Role, scope_id: UUID) -> None:
    if role is Role.VOLUNTEER:
        rt.service.load(Volunteer, scope_id, "volunteer")
        return
    org = rt.service.load(Organisation, scope_id, "organisation")
    if role is Role.DESK and org.kind is not OrgKind.VENUE:
        raise Invalid("not-a-venue", f"{org.name} ({org.kind.value}) is not a venue")


@app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="admin, coordinator, desk, auditor or volunteer")],
    name: Annotated[str, typer.Option(help="A unique name to recognise the token by")],
    org: Annotated[UUID | None, typer.Option(help="The organisation of a coordinator")] = None,
    venue: Annotated[UUID | None, typer.Option(help="The venue of a desk")] = None,
    volunteer: Annotated[UUID | None, typer.Option(help="The volunteer of a volunteer")] = None,
    expires_in_days: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_TOKEN_DAYS,
            help="Days until it expires (default: TIMEBANK_TOKEN_EXPIRY_DAYS__<ROLE>)",
        ),
    ] = None,
    qr: Annotated[
        bool,
        typer.Option(
            "--qr", help="Also draw the token as a QR code on stderr, for a tablet to scan"
        ),
    ] = False,
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
        token = rt.tokens.create(chosen, name, scope_id, expires_in_days)
    scope = f" for {wanted} {scope_id}" if scope_id else ""
    message = f"Created {chosen.value} token {name.strip()!r}{scope}; it is shown only once:"
    typer.echo(message, err=True)  # so that TOKEN=$(timebank token create ...) gets the token
    if qr:  # on stderr too: stdout stays the token alone
        segno.make(token, error="m").terminal(out=sys.stderr, compact=True)
    typer.echo(token)


def _when(moment: object) -> str:
    return "-" if moment is None else str(moment)


@app.command("list")
def token_list() -> None:
    """List the tokens (id, name, role, scope, created, expires, revoked); never a token or
    its hash."""
    with runtime() as rt:
        tokens: list[TokenInfo] = []
        cursor = None
        while True:
            page, cursor = rt.tokens.page_as_operator(Page(1000, cursor))
            tokens.extend(page)
            if cursor is None:
                break
    typer.echo("id\tname\trole\tscope\tcreated\texpires\trevoked")
    for t in tokens:
        row = (t.id, t.name, t.role.value, t.scope_id, t.created_at, t.expires_at, t.revoked_at)
        typer.echo("\t".join(_when(v) for v in row))


@app.command("revoke")
def token_revoke(token_id: Annotated[UUID, typer.Argument(help="The token's id")]) -> None:
    """Revoke a token: every process refuses it within a second (revoking again keeps the
    first revocation)."""
    with runtime() as rt:
        revoked = rt.tokens.revoke_as_operator(token_id)
    typer.echo(f"Revoked {revoked.role.value} token {revoked.name!r} at {revoked.revoked_at}")
