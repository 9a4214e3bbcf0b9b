"""Issuing a certificate of service (志愿服务证明): "the organisation that records, certifies"."""

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from ledger import bounds
from ledger.accounts import Account
from ledger.activities import Activity
from ledger.backfills import Backfill
from ledger.certificates import (
    Certificate,
    Holder,
    Period,
    ServiceLine,
    certificate_content,
    certificate_id,
    new_number,
)
from ledger.commands.base import Command, UnitOfWork
from ledger.commands.permissions import require_coordinator_of, require_role
from ledger.context import Role
from ledger.errors import Conflict
from ledger.identity import account_id
from ledger.organisations import Organisation
from ledger.privacy import Viewer, personal_data
from ledger.signups import Signup
from ledger.volunteers import Volunteer

NUMBER_DRAWS = 5  # a number is drawn again when it is taken (60 random bits: never, nearly)


@dataclass(frozen=True)
class CertificateIssued:
    id: UUID
    number: str
    digest: str
    total_minutes: int
    services: int
    issued_on: date


@dataclass(frozen=True)
class IssueCertificate(Command):
    """`source_ids` are the signups and back-fills the records view credits to the volunteer
    by `org_id` in the period; each is read again here, and what the certificate shows comes
    from those aggregates, which the engine checks have not moved when it commits."""

    volunteer_id: UUID
    org_id: UUID
    period_from: date
    period_to: date
    purpose: str | None
    source_ids: tuple[UUID, ...]

    def handle(self, uow: UnitOfWork) -> CertificateIssued:
        require_role(uow.ctx.actor, Role.COORDINATOR)
        org = uow.get(Organisation, self.org_id, "organisation")
        require_coordinator_of(uow, uow.ctx.actor, org.id)
        period = Period(self.period_from, self.period_to).check()
        purpose = bounds.PURPOSE.check(self.purpose).strip() or None if self.purpose else None
        volunteer = uow.get(Volunteer, self.volunteer_id, "volunteer")  # 409 once erased
        account = uow.get(Account, account_id(volunteer.id), "account")
        services = [
            line
            for line in (self._line(uow, source_id) for source_id in self.source_ids)
            if line is not None and period.first <= line.service_date <= period.last
        ]
        shown = personal_data(volunteer, Viewer.OTHER_COORDINATOR)
        holder = Holder(volunteer.name, shown["id_number"], volunteer.number, account.id)
        issued_on = uow.rules.local_date(uow.ctx.now)
        for _ in range(NUMBER_DRAWS):
            number = new_number()
            cert_id = certificate_id(number)
            if uow.find(Certificate, cert_id) is None:
                break
        else:
            raise Conflict("number-taken", "no free certificate number was drawn; try again")
        content = certificate_content(
            cert_id, number, holder, org.id, org.name, period, purpose, services, issued_on
        )
        certificate = uow.add(Certificate.issue(uow.ctx, volunteer.id, content))
        return CertificateIssued(
            certificate.id,
            number,
            certificate.digest,
            certificate.total_minutes,
            len(services),
            issued_on,
        )

    def _line(self, uow: UnitOfWork, source_id: UUID) -> ServiceLine | None:
        """The service as its aggregates have it now, when it is this volunteer's, credited
        by this organisation and not rejected; None otherwise."""
        signup = uow.find(Signup, source_id)
        if signup is not None:
            if not self._ours(signup.volunteer_id, signup.org_id) or not signup.is_credited:
                return None
            activity = uow.get(Activity, signup.activity_id, "activity")
            return ServiceLine(
                signup.id,
                uow.rules.local_date(activity.starts_at),
                activity.title,
                activity.category.value,
                signup.service_minutes,
                backfill=False,
            )
        backfill = uow.find(Backfill, source_id)
        if backfill is None or not backfill.is_credited:
            return None
        if not self._ours(backfill.volunteer_id, backfill.org_id):
            return None
        title = backfill.category
        if backfill.activity_id is not None:
            named = uow.find(Activity, backfill.activity_id)
            title = named.title if named is not None else title
        return ServiceLine(
            backfill.id,
            uow.rules.local_date(backfill.started_at),
            title,
            backfill.category,
            backfill.service_minutes,
            backfill=True,
        )

    def _ours(self, volunteer_id: UUID, org_id: UUID) -> bool:
        return volunteer_id == self.volunteer_id and org_id == self.org_id
