"""Erasing a volunteer (PIPL): crypto-shredding, in steps that span the log, the data keys
and the secrets kept beside them. Each step is idempotent and each runs only after the one
before it has been done, so running the whole again after a crash between any two of them
completes it:

(a) the log: the volunteer is erased and the claim of their ID document released (found by
    the document number, which is readable only until (b));
(b) the data key is destroyed, the volunteer's PIN forgotten and the tokens bound to them
    revoked;
(c) the log: the key's destruction recorded (once).
"""

from uuid import UUID

from ledger.commands.members import EraseVolunteer, RecordDataKeyDestroyed
from ledger.context import Context
from ledger.engine.keys import DataKeys
from ledger.engine.service import IdempotencyKey, LedgerService, Outcome
from projections.reads import Lagging
from projections.runner import ProjectionRunner
from timebank.secrets import SecretStore
from timebank.tokens import TokenStore


class Erasure:
    def __init__(
        self,
        service: LedgerService,
        keys: DataKeys,
        secrets: SecretStore,
        tokens: TokenStore,
        runner: ProjectionRunner,
        wait_seconds: float,
    ) -> None:
        self.service = service
        self.keys = keys
        self.secrets = secrets
        self.tokens = tokens
        self.runner = runner
        self.wait_seconds = wait_seconds  # for the read models to apply the erasure

    def erase(
        self,
        ctx: Context,
        volunteer_id: UUID,
        reason: str,
        idempotency: IdempotencyKey | None = None,
    ) -> Outcome:
        """Runs (or completes) the erasure; answers step (a)'s outcome (replayed for the
        same Idempotency-Key), once every read model has applied what was recorded. A
        refusal of (a) (not an admin, no such volunteer, no reason) stops it before (b)."""
        erased = self.record_erasure(ctx, volunteer_id, reason, idempotency)
        self.destroy_key(volunteer_id)
        destroyed = self.record_key_destroyed(ctx, volunteer_id)
        positions = [p for p in (erased.position, destroyed.position) if p is not None]
        if positions:
            self.wait_applied(max(positions))
        return erased

    def record_erasure(
        self,
        ctx: Context,
        volunteer_id: UUID,
        reason: str,
        idempotency: IdempotencyKey | None = None,
    ) -> Outcome:
        """(a)"""
        return self.service.execute(ctx, EraseVolunteer(volunteer_id, reason), idempotency)

    def destroy_key(self, volunteer_id: UUID) -> None:
        """(b): what is kept outside the log."""
        self.keys.destroy(volunteer_id)
        self.secrets.forget_pin(volunteer_id)
        self.tokens.revoke_volunteer_tokens(volunteer_id)

    def record_key_destroyed(self, ctx: Context, volunteer_id: UUID) -> Outcome:
        """(c)"""
        return self.service.execute(ctx, RecordDataKeyDestroyed(volunteer_id))

    def wait_applied(self, position: int) -> None:
        for projection in self.runner.projections:
            if not self.runner.wait_for(projection.name, position, self.wait_seconds):
                raise Lagging(
                    f"the {projection.name} view has not applied the erasure (position "
                    f"{position}) yet; it is recorded: retry for the answer"
                )
