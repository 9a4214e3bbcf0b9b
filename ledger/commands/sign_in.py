"""Who may give a volunteer a one-time link that signs them in to their pages."""

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from ledger.commands.base import Command, UnitOfWork
from ledger.commands.exchange import require_pin
from ledger.commands.permissions import require_coordinator_of
from ledger.context import Role
from ledger.volunteers import Volunteer


@dataclass(frozen=True)
class AllowSignInLink(Command):
    """Checks that the caller may give the volunteer a sign-in link, and records nothing: a
    coordinator of the volunteer's home organisation or above, or an admin; a desk only with
    the volunteer's PIN, since the link acts as the volunteer (a wrong PIN counts as a failed
    guess, as at redemption)."""

    volunteer_id: UUID
    pin: str | None = field(default=None, repr=False)

    def handle(self, uow: UnitOfWork) -> dict[str, Any]:
        volunteer = uow.get(Volunteer, self.volunteer_id, "volunteer")
        actor = uow.ctx.actor
        if actor.role is Role.DESK:
            require_pin(uow, volunteer, self.pin)
        else:
            require_coordinator_of(uow, actor, volunteer.home_org_id)
        return {"volunteer_id": volunteer.id}
