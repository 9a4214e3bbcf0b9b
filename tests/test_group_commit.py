"""Group commit: concurrent commands share transactions, yet each is answered with its own
position only after its events are durable, conflicts within a batch or with another writer
are retried without failing their neighbours, and no acknowledged command is lost."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from uuid import UUID

from ledger.accounts import Account, TransferKind
from ledger.commands.exchange import Transfer
from ledger.context import Actor, Context, Role
from ledger.engine.service import IdempotencyKey, LedgerService, Outcome
from ledger.errors import DomainError
from ledger.identity import account_id
from tests.http import Town
from timebank.runtime import open_application

ADMIN = Actor("admin", Role.ADMIN)


def donation(volunteer: str, org: str, minutes: int = 1) -> Transfer:
    return Transfer(UUID(volunteer), minutes, TransferKind.DONATION, to_org_id=UUID(org))


def run(service: LedgerService, command: Transfer, key: str | None = None) -> Outcome | str:
    ctx = Context(ADMIN, str(uuid.uuid4()), datetime.now(UTC))
    idempotency = IdempotencyKey("admin", key, "same") if key else None
    try:
        return service.execute(ctx, command, idempotency)
    except DomainError as e:
        return e.code


def sent_postings(town: Town, volunteer: str) -> list[int]:
    """The positions of the volunteer's TransferSent events, from the log itself."""
    account = account_id(UUID(volunteer))
    return [
        n.id
        for n in town.rt.app.recorder.select_notifications(start=1, limit=1_000_000)
        if n.originator_id == account and n.topic.endswith("Account.TransferSent")
    ]


def test_concurrent_commands_share_transactions_and_each_gets_its_own_position(
    town: Town,
) -> None:
    donors = [town.volunteer() for _ in range(24)]
    for donor in donors:
        town.earn(donor, 30)
    before = town.rt.service.committer.transactions
    with ThreadPoolExecutor(24) as pool:
        outcomes = list(
            pool.map(lambda d: run(town.rt.service, donation(d, town.street)), donors * 5)
        )
    assert all(isinstance(o, Outcome) for o in outcomes), outcomes
    transactions = town.rt.service.committer.transactions - before
    assert transactions < len(outcomes), "concurrent commands should have shared transactions"
    positions = {o.position for o in outcomes if isinstance(o, Outcome)}
    assert len(positions) == len(outcomes)
    for donor in donors:
        assert len(sent_postings(town, donor)) == 5
    logged = {p for donor in donors for p in sent_postings(town, donor)}
    assert positions == logged, "each answer names its own command's last event"


def test_commands_on_one_account_in_one_batch_are_retried_not_lost(town: Town) -> None:
    donor = town.volunteer()
    town.earn(donor, 40)
    with ThreadPoolExecutor(16) as pool:
        outcomes = list(
            pool.map(lambda _: run(town.rt.service, donation(donor, town.street)), range(60))
        )
    done = [o for o in outcomes if isinstance(o, Outcome)]
    assert len(done) == 40 and outcomes.count("insufficient-balance") == 20, outcomes
    account = town.rt.service.load(Account, account_id(UUID(donor)), "account")
    assert account.balance == 0 and account.spent == 40
    assert len(sent_postings(town, donor)) == 40


def test_a_writer_in_another_process_fails_no_neighbour(town: Town) -> None:
    """A second service on the same store (as another process would be) keeps moving the
    same accounts: the store refuses the stale batches, and every command is retried alone."""
    donors = [town.volunteer() for _ in range(6)]
    for donor in donors:
        town.earn(donor, 30)
    other_app = open_application(town.rt.settings, town.rt.keys)
    other = LedgerService(other_app, town.rt.settings.rules, b"")
    try:
        commands = [(service, donor) for donor in donors for service in (town.rt.service, other)]
        with ThreadPoolExecutor(12) as pool:
            outcomes = list(
                pool.map(lambda pair: run(pair[0], donation(pair[1], town.street, 3)), commands * 5)
            )
    finally:
        other.close()
        other_app.close()
    assert all(isinstance(o, Outcome) for o in outcomes), outcomes
    for donor in donors:
        assert len(sent_postings(town, donor)) == 10
        account = town.rt.service.load(Account, account_id(UUID(donor)), "account")
        assert account.balance == 0


def test_identical_keys_in_one_batch_run_once(town: Town) -> None:
    donor = town.volunteer()
    town.earn(donor, 30)
    with ThreadPoolExecutor(16) as pool:
        outcomes = list(
            pool.map(
                lambda _: run(town.rt.service, donation(donor, town.street, 7), key="once"),
                range(32),
            )
        )
    assert all(isinstance(o, Outcome) for o in outcomes), outcomes
    first = outcomes[0]
    assert isinstance(first, Outcome)
    assert all(isinstance(o, Outcome) and o.body == first.body for o in outcomes)
    assert len(sent_postings(town, donor)) == 1
