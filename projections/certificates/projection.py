"""Certificates: each one issued, with its content as issued and its status (`valid`, or
`superseded` once a correction changes a service it lists), and the log positions of every
service credit and correction by source, the events a certificate's minutes rest on (its
bundle's evidence)."""

import json
from typing import Any

from eventsourcing.domain import DomainEventProtocol

from ledger.accounts import Account
from ledger.certificates import Certificate
from ledger.volunteers import ERASED, Volunteer
from projections.base import Batch, ProjectionCursor, topic

NAME = "certificates"
VALID, SUPERSEDED = "valid", "superseded"
CERTIFICATE_COLUMNS = (
    "id",
    "number",
    "volunteer_id",
    "org_id",
    "status",
    "content",
    "digest",
    "position",
    "issued_on",
    "period_from",
    "period_to",
    "total_minutes",
)


def stored_content(content: dict[str, Any]) -> str:
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def erased_content(content: dict[str, Any]) -> dict[str, Any]:
    """The content as the log reads once the volunteer is erased (ledger/privacy.py)."""
    volunteer = content["volunteer"] | {"name": ERASED, "id_number_masked": ERASED}
    return content | {"volunteer": volunteer, "purpose": ERASED}


class CertificatesProjection:
    name = NAME
    topics = frozenset(
        topic(c)
        for c in (
            Certificate.Issued,
            Account.ServiceCredited,
            Account.ServiceCorrected,
            Volunteer.Erased,
        )
    )
    tables: tuple[str, ...] = ("tb_cert_certificates", "tb_cert_listed", "tb_cert_credits")

    def apply(self, cur: ProjectionCursor, event: DomainEventProtocol[Any], position: int) -> None:
        self.apply_batch(cur, [(event, position)])

    def apply_batch(self, cur: ProjectionCursor, batch: Batch) -> None:
        credits: list[tuple[int, str, str]] = []
        for event, position in batch:
            if isinstance(event, Account.ServiceCredited | Account.ServiceCorrected):
                credits.append((position, str(event.source_id), str(event.originator_id)))
                if isinstance(event, Account.ServiceCorrected):
                    self._supersede(cur, str(event.source_id))
            elif isinstance(event, Certificate.Issued):
                self._issued(cur, event, position)
            elif isinstance(event, Volunteer.Erased):
                self._erase(cur, str(event.originator_id))
        cur.insert("tb_cert_credits", ("position", "source_id", "account_id"), credits)

    @staticmethod
    def _issued(cur: ProjectionCursor, event: Any, position: int) -> None:
        content = event.content()
        row = (
            str(event.originator_id),
            event.number,
            str(event.volunteer_id),
            str(event.org_id),
            VALID,
            stored_content(content),
            event.digest,
            position,
            event.issued_on,
            event.period_from,
            event.period_to,
            event.total_minutes,
        )
        cur.insert("tb_cert_certificates", CERTIFICATE_COLUMNS, [row])
        listed = sorted({(str(s), str(event.originator_id)) for s in event.source_ids})
        cur.insert("tb_cert_listed", ("source_id", "certificate_id"), listed)

    @staticmethod
    def _supersede(cur: ProjectionCursor, source_id: str) -> None:
        # In log order: every certificate listing the source was issued before the correction.
        cur.execute(
            "UPDATE tb_cert_certificates SET status = %s WHERE id IN "
            "(SELECT certificate_id FROM tb_cert_listed WHERE source_id = %s)",
            (SUPERSEDED, source_id),
        )

    @staticmethod
    def _erase(cur: ProjectionCursor, volunteer_id: str) -> None:
        cur.execute(
            "SELECT id, content FROM tb_cert_certificates WHERE volunteer_id = %s",
            (volunteer_id,),
        )
        for cert_id, text in cur.fetchall():
            redacted = stored_content(erased_content(json.loads(text)))
            cur.execute(
                "UPDATE tb_cert_certificates SET content = %s WHERE id = %s", (redacted, cert_id)
            )
