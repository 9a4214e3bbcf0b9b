"""Activities and their seats: capacity, a first-come-first-served waitlist, check-in code."""

import secrets
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from ledger import bounds
from ledger.base import LedgerAggregate
from ledger.context import Context
from ledger.errors import Conflict, Invalid


class Category(StrEnum):
    ELDER_CARE = "elder_care"
    DISABILITY = "disability"
    CHILDREN = "children"
    ENVIRONMENT = "environment"
    COMMUNITY_CLEANUP = "community_cleanup"
    LEGAL_AID = "legal_aid"
    HEALTH = "health"
    TRAFFIC = "traffic"
    CULTURE = "culture"
    EMERGENCY = "emergency"
    BLOOD_DONATION = "blood_donation"
    FITNESS = "fitness"
    SCIENCE = "science"
    OTHER = "other"


class SeatStatus(StrEnum):
    ACCEPTED = "accepted"
    WAITLISTED = "waitlisted"


def new_check_in_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


class Activity(LedgerAggregate):
    contended = True  # a signup rush touches one activity
    # People served (人次), set on completion; a class default so that snapshots taken
    # before completion existed still load.
    beneficiaries: int | None = None

    class Published(LedgerAggregate.Created):
        org_id: UUID
        title: str
        category: str
        location: str
        starts_at: datetime
        ends_at: datetime
        capacity: int
        campaign: str | None
        check_in_code: str

    class SeatTaken(LedgerAggregate.Event):
        signup_id: UUID
        volunteer_id: UUID
        status: str

        def apply(self, activity: "Activity") -> None:
            entry = [str(self.signup_id), str(self.volunteer_id)]
            if self.status == SeatStatus.ACCEPTED:
                activity.accepted.append(entry)
            else:
                activity.waitlist.append(entry)

    class SeatReleased(LedgerAggregate.Event):
        signup_id: UUID
        promoted_signup_id: UUID | None

        def apply(self, activity: "Activity") -> None:
            released = str(self.signup_id)
            activity.accepted = [e for e in activity.accepted if e[0] != released]
            activity.waitlist = [e for e in activity.waitlist if e[0] != released]
            if self.promoted_signup_id is not None:
                promoted = activity.waitlist.pop(0)
                assert promoted[0] == str(self.promoted_signup_id)
                activity.accepted.append(promoted)

    class Completed(LedgerAggregate.Event):
        beneficiaries: int  # people served (人次)

        def apply(self, activity: "Activity") -> None:
            activity.beneficiaries = self.beneficiaries

    def __init__(
        self,
        org_id: UUID,
        title: str,
        category: str,
        location: str,
        starts_at: datetime,
        ends_at: datetime,
        capacity: int,
        campaign: str | None,
        check_in_code: str,
    ) -> None:
        self.org_id = org_id
        self.title = title
        self.category = Category(category)
        self.location = location
        self.starts_at = starts_at
        self.ends_at = ends_at
        self.capacity = capacity
        self.campaign = campaign
        self.check_in_code = check_in_code
        self.accepted: list[list[str]] = []  # [signup id, volunteer id] in order of acceptance
        self.waitlist: list[list[str]] = []  # [signup id, volunteer id], first come first served

    @classmethod
    def publish(
        cls,
        ctx: Context,
        org_id: UUID,
        title: str,
        category: Category,
        location: str,
        starts_at: datetime,
        ends_at: datetime,
        capacity: int,
        campaign: str | None,
    ) -> "Activity":
        bounds.TITLE.check(title)
        bounds.LOCATION.check(location)
        if campaign is not None:
            bounds.CAMPAIGN.check(campaign)
        bounds.MOMENT.check(starts_at)
        bounds.MOMENT.check(ends_at)
        bounds.CAPACITY.check(capacity)
        if ends_at <= starts_at:
            raise Invalid("invalid-schedule", "an activity must end after it starts")
        activity: Activity = cls.new(
            ctx,
            cls.Published,
            org_id=org_id,
            title=title.strip(),
            category=category.value,
            location=location.strip(),
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=capacity,
            campaign=campaign,
            check_in_code=new_check_in_code(),
        )
        return activity

    @property
    def completed(self) -> bool:
        return self.beneficiaries is not None

    def complete(self, ctx: Context, beneficiaries: int) -> None:
        """Records how many people were served; a repeated identical completion does nothing."""
        bounds.BENEFICIARIES.check(beneficiaries)
        if self.beneficiaries is not None:
            if self.beneficiaries == beneficiaries:
                return
            raise Conflict(
                "already-completed",
                f"the activity was already completed with {self.beneficiaries} beneficiaries",
            )
        if ctx.now < self.starts_at:
            raise Conflict("not-started", "an activity cannot be completed before it starts")
        self.emit(ctx, self.Completed, beneficiaries=beneficiaries)

    def holds_seat_for(self, volunteer_id: UUID) -> bool:
        wanted = str(volunteer_id)
        return any(e[1] == wanted for e in self.accepted + self.waitlist)

    def take_seat(self, ctx: Context, signup_id: UUID, volunteer_id: UUID) -> SeatStatus:
        if self.holds_seat_for(volunteer_id):
            raise Conflict("already-signed-up", "the volunteer is already signed up")
        if ctx.now >= self.ends_at:
            raise Conflict("activity-over", "the activity has already ended")
        status = (
            SeatStatus.ACCEPTED if len(self.accepted) < self.capacity else SeatStatus.WAITLISTED
        )
        self.emit(
            ctx,
            self.SeatTaken,
            signup_id=signup_id,
            volunteer_id=volunteer_id,
            status=status.value,
        )
        return status

    def release_seat(self, ctx: Context, signup_id: UUID) -> UUID | None:
        """Frees a seat; the first on the waitlist takes a freed accepted seat."""
        was_accepted = any(e[0] == str(signup_id) for e in self.accepted)
        promoted = UUID(self.waitlist[0][0]) if was_accepted and self.waitlist else None
        self.emit(ctx, self.SeatReleased, signup_id=signup_id, promoted_signup_id=promoted)
        return promoted
