"""Every read model the runner maintains, in the order it applies them."""

from ledger.rules import Rules
from projections.balances import BalancesProjection
from projections.runner import Projection


def all_projections(rules: Rules) -> list[Projection]:
    return [
        BalancesProjection(),
    ]
