"""Every aggregate class of the domain, by topic: the audit trail subscribes to all their
events (tests/test_api_audit.py checks that none is missing)."""

from ledger.accounts import Account
from ledger.activities import Activity
from ledger.awards import Award
from ledger.backfills import Backfill
from ledger.base import LedgerAggregate
from ledger.certificates import Certificate
from ledger.disputes import Dispute
from ledger.organisations import Organisation
from ledger.rewards import Redemption, Reward
from ledger.signups import Signup
from ledger.timesheets import Timesheet
from ledger.trainings import Evaluation, Training
from ledger.volunteers import DocumentClaim, Volunteer, VolunteerNumber

AGGREGATES: tuple[type[LedgerAggregate], ...] = (
    Account,
    Activity,
    Award,
    Backfill,
    Certificate,
    DocumentClaim,
    Dispute,
    Organisation,
    Redemption,
    Reward,
    Signup,
    Timesheet,
    Evaluation,
    Training,
    Volunteer,
    VolunteerNumber,
)
