"""Time changing hands: gifts within families, donations to a community's pool, and
rewards redeemed at the venue."""

from uuid import UUID

from entrypoints.demo.data import VOLUNTEERS
from entrypoints.demo.seeder import Seeder
from ledger.accounts import TransferKind
from ledger.commands.exchange import FulfilRedemption, Redeem, Transfer


def give_gifts(s: Seeder) -> None:
    """In five families the one with more time gives some to the other."""
    gifts = 0
    for a, b in s.family:
        sender, recipient = (a, b) if s.balance[a] >= s.balance[b] else (b, a)
        if s.balance[sender] < 60:
            continue
        minutes = s.rng.choice((30, 60))
        s.run(
            Transfer(
                s.volunteers[sender],
                minutes,
                TransferKind.GIFT,
                to_volunteer_id=s.volunteers[recipient],
                memo="赠与家人，存入养老时间",
            ),
            "gifts",
        )
        s.balance[sender] -= minutes
        s.balance[recipient] += minutes
        gifts += 1
        if gifts == 5:
            break


def donate_and_redeem(s: Seeder) -> None:
    """The three richest donate an hour to a community; the next ones redeem rewards, two
    handed out and one still reserved."""
    richest = sorted(range(VOLUNTEERS), key=lambda v: (-s.balance[v], v))
    for volunteer in richest[:3]:
        s.run(
            Transfer(
                s.volunteers[volunteer],
                60,
                TransferKind.DONATION,
                to_org_id=s.rng.choice(s.communities),
                memo="捐入社区互助时间池",
            ),
            "donations",
        )
        s.balance[volunteer] -= 60
    redeemers = iter(richest[3:])
    for reward, fulfil in ((s.rewards[0], True), (s.rewards[1], True), (s.rewards[0], False)):
        volunteer = next(redeemers)
        if s.balance[volunteer] < s.reward_cost[reward]:
            continue  # only with much stricter rules than the defaults
        body = s.run(Redeem(s.volunteers[volunteer], reward), "redemptions")
        s.balance[volunteer] -= s.reward_cost[reward]
        if fulfil:
            s.run(FulfilRedemption(UUID(body["id"]), str(body["code"])), "fulfilments")
