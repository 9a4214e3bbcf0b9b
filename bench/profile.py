"""How much each scenario does: the full run of SPEC.md's budget, and --quick."""

import math
from dataclasses import dataclass

# The data set SPEC.md asks the read figures to hold under.
TARGET_VOLUNTEERS = 1_000_000
TARGET_EVENTS = 10_000_000
RUSH_SIGNUPS = 2_000
RUSH_CAPACITY = 500
LONG_HISTORY_EVENTS = 10_000
REBUILD_EVENTS = 1_000_000
CERTIFICATE_SERVICES = 100  # issue 15: verified "well under 50 ms for 100 services"


@dataclass(frozen=True)
class Profile:
    name: str
    funded_volunteers: int  # volunteers given credits before the ledger scenario
    ledger_each: int  # verifications, transfers and redemptions each, in-process
    http_each: int  # verifications and transfers each, over HTTP
    rush_signups: int
    rush_capacity: int
    long_history_events: int  # events of one account, for the snapshot load figure
    read_samples: int
    http_read_samples: int
    reference_seconds: float  # how long each reference load runs
    rebuild_events: int  # the log is grown to this many events before scenario 4
    dataset_volunteers: int  # the data set is grown to this many volunteers...
    dataset_events: int  # ...and events before the read figures (bench.bulk)
    dataset_seconds: float | None  # time box for growing the data set (None: no box)
    sealed_volunteers: int  # registered and loaded with each mapper (scenario 8)
    certificate_services: int  # services on the certificate whose bundle is verified (9)

    def scaled(self, factor: float) -> "Profile":
        """The same profile with every count multiplied by factor (for tests)."""
        if factor == 1:
            return self

        def n(value: int) -> int:
            return max(math.ceil(value * factor), 1) if value else 0

        return Profile(
            name=f"{self.name}x{factor:g}",
            funded_volunteers=max(n(self.funded_volunteers), 4),
            ledger_each=n(self.ledger_each),
            http_each=n(self.http_each),
            rush_signups=n(self.rush_signups),
            rush_capacity=n(self.rush_capacity),
            long_history_events=n(self.long_history_events),
            read_samples=n(self.read_samples),
            http_read_samples=n(self.http_read_samples),
            reference_seconds=max(self.reference_seconds * factor, 0.3),
            rebuild_events=n(self.rebuild_events),
            dataset_volunteers=n(self.dataset_volunteers),
            dataset_events=n(self.dataset_events),
            dataset_seconds=self.dataset_seconds,
            sealed_volunteers=max(n(self.sealed_volunteers), 2),
            certificate_services=max(n(self.certificate_services), 2),
        )


FULL = Profile(
    name="full",
    funded_volunteers=1_000,
    ledger_each=2_000,
    http_each=2_500,
    rush_signups=RUSH_SIGNUPS,
    rush_capacity=RUSH_CAPACITY,
    long_history_events=LONG_HISTORY_EVENTS,
    read_samples=10_000,
    http_read_samples=5_000,
    reference_seconds=10.0,
    rebuild_events=REBUILD_EVENTS,
    dataset_volunteers=TARGET_VOLUNTEERS,
    dataset_events=TARGET_EVENTS,
    dataset_seconds=None,
    sealed_volunteers=400,
    certificate_services=CERTIFICATE_SERVICES,
)

QUICK = Profile(
    name="quick",
    funded_volunteers=240,
    ledger_each=200,
    http_each=250,
    rush_signups=400,
    rush_capacity=100,
    long_history_events=500,
    read_samples=1_000,
    http_read_samples=500,
    reference_seconds=2.0,
    rebuild_events=0,
    dataset_volunteers=2_000,
    dataset_events=20_000,
    dataset_seconds=None,
    sealed_volunteers=100,
    certificate_services=CERTIFICATE_SERVICES,
)
