"""Every read model the runner maintains, in the order it applies them."""

from ledger.rules import Rules
from projections.attendance.projection import AttendanceProjection
from projections.audit.projection import AuditProjection
from projections.balances.projection import BalancesProjection
from projections.base import Projection
from projections.certificates.projection import CertificatesProjection
from projections.records.projection import RecordsProjection
from projections.rewards.projection import RewardsProjection
from projections.worklist.projection import WorklistProjection


def all_projections(rules: Rules) -> list[Projection]:
    return [
        BalancesProjection(),
        AuditProjection(),
        RecordsProjection(rules),
        AttendanceProjection(),
        CertificatesProjection(),
        RewardsProjection(),
        WorklistProjection(),
    ]
