"""Crediting verified service, shared by verification, back-fill approval and corrections:
the volunteer's timesheet, the credit itself and the stars it may restate."""

from uuid import UUID

from ledger.accounts import Account
from ledger.awards import Award, AwardKind, star_award_id
from ledger.commands.base import UnitOfWork
from ledger.identity import (
    account_id,
    timesheet_id,
)
from ledger.timesheets import Timesheet
from ledger.volunteers import Volunteer


def volunteer_timesheet(uow: UnitOfWork, volunteer_id: UUID) -> Timesheet:
    """The volunteer's timesheet, started on first use."""
    sheet = uow.find(Timesheet, timesheet_id(volunteer_id))
    if sheet is None:
        sheet = uow.add(
            Timesheet.new(
                uow.ctx, Timesheet.Started, id=timesheet_id(volunteer_id), volunteer_id=volunteer_id
            )
        )
    return sheet


def credit_service(
    uow: UnitOfWork, volunteer_id: UUID, source_id: UUID, org_id: UUID, minutes: int
) -> int:
    """Credits verified service to the volunteer and restates their stars; returns the
    credits posted (fewer than the minutes above the balance cap)."""
    uow.get(Volunteer, volunteer_id, "volunteer")  # a credit is a new fact about them
    account = uow.get(Account, account_id(volunteer_id))
    before = account.service_minutes
    credited = account.credit_service(uow.ctx, uow.rules, source_id, org_id, minutes)
    restate_stars(uow, volunteer_id, before, account.service_minutes)
    return credited


def restate_stars(uow: UnitOfWork, volunteer_id: UUID, before: int, after: int) -> None:
    """After service time moved from `before` to `after` minutes: each star level newly
    reached goes into public notice (again, if it had been withdrawn or revoked), and each
    level no longer reached is revoked."""
    rules = uow.rules
    for level in range(rules.stars(after) + 1, rules.stars(before) + 1):
        award = uow.find(Award, star_award_id(volunteer_id, level))
        if award is not None:
            award.revoke(uow.ctx, f"service time corrected below {rules.star_hours(level)} h")
    for level in range(rules.stars(before) + 1, rules.stars(after) + 1):
        reason = f"reached {rules.star_hours(level)} h of service"
        award = uow.find(Award, star_award_id(volunteer_id, level))
        if award is not None:
            award.renew(uow.ctx, rules, reason)
            continue
        volunteer = uow.get(Volunteer, volunteer_id, "volunteer")
        uow.add(
            Award.announce(
                uow.ctx,
                rules,
                star_award_id(volunteer_id, level),
                volunteer_id,
                volunteer.home_org_id,
                AwardKind.STAR,
                title=f"{level}-star volunteer (星级志愿者)",
                reason=reason,
                level=level,
            )
        )
