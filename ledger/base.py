"""The aggregate base class: every event records who, in which role, and the request id, and
holds nothing a read model could not store."""

from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate

from ledger.bounds import storable
from ledger.context import Context


class LedgerAggregate(Aggregate):
    class Event(Aggregate.Event):
        actor: str
        role: str
        request_id: str
        occurred_at: datetime  # business time; `timestamp` is when it was recorded

    class Created(Event, Aggregate.Created):
        pass

    def emit(self, ctx: Context, event_class: type[Aggregate.Event], **fields: Any) -> None:
        storable(fields)
        self.trigger_event(event_class, **ctx.audit_fields(), **fields)

    @classmethod
    def new(cls, ctx: Context, event_class: type[Aggregate.Created], **fields: Any) -> Any:
        storable(fields)
        return cls._create(event_class, **ctx.audit_fields(), **fields)
