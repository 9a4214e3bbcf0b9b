"""Reads of the certificates view: a certificate (the volunteer, coordinators of the issuing
organisation or above, auditors, admins), the public check by number (anyone: masked), a
volunteer's certificates for the service record, and the log positions a certificate rests
on (its bundle)."""

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ledger.certificates import Certificate, certificate_id, normalise_number
from ledger.commands.permissions import is_self, may_oversee, require_certificate_reader
from ledger.context import Context
from ledger.errors import Forbidden, NotFound
from ledger.volunteers import Volunteer
from projections.certificates.projection import NAME
from projections.reads import Lagging, Views

LISTED_COLUMNS = "id, number, org_id, period_from, period_to, total_minutes, status, issued_on"


@dataclass(frozen=True)
class CertificateView:
    id: UUID
    number: str
    volunteer_id: UUID
    org_id: UUID
    status: str
    content: dict[str, Any]
    digest: str
    position: int  # of the event that issued it
    view_position: int  # how far the view had read


@dataclass(frozen=True)
class ListedCertificate:
    """A certificate as the service record lists it."""

    id: UUID
    number: str
    org_id: UUID
    period_from: str
    period_to: str
    total_minutes: int
    status: str
    issued_on: str


@dataclass(frozen=True)
class Evidence:
    """The log positions a certificate rests on: its own event, and every service credit and
    correction of a listed service before it, in log order."""

    certificate: int
    services: list[int]


class CertificatesQueries:
    def __init__(self, views: Views) -> None:
        self.views = views

    def get(self, ctx: Context, cert_id: UUID, min_position: int | None) -> CertificateView:
        certificate = self.views.aggregates.load(Certificate, cert_id, "certificate")
        reader = self.views.aggregates.reader(ctx)
        require_certificate_reader(reader, ctx.actor, certificate.volunteer_id, certificate.org_id)
        # The view may not have read the certificate yet: wait for its event, bounded.
        return self._row(cert_id, max(min_position or 0, self._event_position(cert_id)))

    def check(self, number: str, min_position: int | None) -> CertificateView:
        """Anyone, by number (lower case and without dashes too)."""
        cert_id = certificate_id(normalise_number(number))
        self.views.wait(NAME, min_position)
        found = self._find(cert_id)
        if found is None:
            raise NotFound("certificate-not-found", "no certificate has that number")
        return found

    def of_volunteer(
        self, ctx: Context, volunteer_id: UUID, limit: int, min_position: int | None = None
    ) -> list[ListedCertificate]:
        """The volunteer's newest `limit` certificates as the caller may read them: all for
        the service record's readers (the volunteer, coordinators of the home organisation or
        above, auditors, admins); for a coordinator elsewhere, those their subtree issued,
        and Forbidden when there is none."""
        volunteer = self.views.aggregates.load(Volunteer, volunteer_id, "volunteer")
        reader = self.views.aggregates.reader(ctx)
        self.views.wait(NAME, min_position)
        with self.views.db.read() as cur:
            cur.execute(
                f"SELECT {LISTED_COLUMNS} FROM tb_cert_certificates WHERE volunteer_id = %s "
                "ORDER BY position DESC LIMIT %s",
                (str(volunteer.id), limit),
            )
            rows = cur.fetchall()
        listed = [
            ListedCertificate(UUID(r[0]), r[1], UUID(r[2]), r[3], r[4], int(r[5]), r[6], r[7])
            for r in rows
        ]
        if is_self(ctx.actor, volunteer.id) or may_oversee(
            reader, ctx.actor, volunteer.home_org_id
        ):
            return listed
        issued = [c for c in listed if may_oversee(reader, ctx.actor, c.org_id)]
        if not issued:
            raise Forbidden(
                "outside-scope", "this volunteer's certificates are for their organisation"
            )
        return issued

    def evidence(self, found: CertificateView) -> Evidence:
        account = found.content["volunteer"]["account_id"]
        with self.views.db.read() as cur:
            cur.execute(
                "SELECT c.position FROM tb_cert_credits c JOIN tb_cert_listed l "
                "ON l.source_id = c.source_id WHERE l.certificate_id = %s "
                "AND c.account_id = %s AND c.position < %s ORDER BY c.position",
                (str(found.id), account, found.position),
            )
            positions = [int(r[0]) for r in cur.fetchall()]
        # The view read the certificate's event, so it has read every event before it.
        return Evidence(found.position, positions)

    def _event_position(self, cert_id: UUID) -> int:
        found = self._find(cert_id)
        return found.position if found is not None else self.views.runner.head()

    def _row(self, cert_id: UUID, position: int) -> CertificateView:
        self.views.wait(NAME, position)
        found = self._find(cert_id)
        if found is None:
            raise Lagging(f"the {NAME} view has not read certificate {cert_id} yet; retry")
        return found

    def _find(self, cert_id: UUID) -> CertificateView | None:
        with self.views.db.read() as cur:
            cur.execute(
                "SELECT id, number, volunteer_id, org_id, status, content, digest, position "
                "FROM tb_cert_certificates WHERE id = %s",
                (str(cert_id),),
            )
            row = cur.fetchone()
        if row is None:
            return None
        return CertificateView(
            UUID(row[0]),
            row[1],
            UUID(row[2]),
            UUID(row[3]),
            row[4],
            json.loads(row[5]),
            row[6],
            int(row[7]),
            self.views.position(NAME),
        )
