"""Every read model the runner maintains, in the order it applies them."""

from ledger.rules import Rules
from projections.attendance import AttendanceProjection
from projections.audit import AuditProjection
from projections.balances import BalancesProjection
from projections.records import RecordsProjection
from projections.runner import Projection


def all_projections(rules: Rules) -> list[Projection]:
    return [
        BalancesProjection(),
        AuditProjection(),
        RecordsProjection(rules),
        AttendanceProjection(),
    ]
