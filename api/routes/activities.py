from uuid import UUID

from fastapi import APIRouter

from api.deps import CommanderDep, ContextDep, QueriesDep
from api.schemas.activities import (
    ActivityCreatedOut,
    ActivityIn,
    ActivityOut,
    AttendanceIn,
    CheckInOut,
    CheckOutOut,
    SignupDetailOut,
    SignupIn,
    SignupOut,
    VerificationOut,
    VerifyIn,
)
from api.schemas.common import ReasonIn
from ledger.commands.attendance import (
    CancelSignup,
    CheckIn,
    CheckOut,
    PublishActivity,
    SignUp,
    VerifySignup,
)

router = APIRouter()
ATTENDANCE_WHO = """Who: the volunteer themself, with the activity's check-in code in `code`, at
the server's time; a coordinator of the organising organisation or above, or an admin, on
their behalf (the body may then be left out), at any moment `at` (marked as given by them).
Wrong codes are counted per signup and per caller: past the deployment's guess limit, a 429
with Retry-After, even with the right code, until the guess window has passed."""


@router.post(
    "/v1/activities",
    status_code=201,
    response_model=ActivityCreatedOut,
    tags=["activities"],
    summary="Publish an activity",
)
async def publish_activity(body: ActivityIn, run: CommanderDep) -> dict[str, object]:
    """Publishes an activity of `org_id` with its seats (`capacity`) and scheduled window;
    answers its check-in code, which volunteers give to check themselves in.

    Who: a coordinator of the organising organisation or above; an admin."""
    return await run.create(
        PublishActivity(**body.model_dump()), lambda made: f"/v1/activities/{made['id']}"
    )


@router.get(
    "/v1/activities/{activity_id}",
    response_model=ActivityOut,
    tags=["activities"],
    summary="Get an activity",
)
def get_activity(activity_id: UUID, q: QueriesDep, ctx: ContextDep) -> ActivityOut:
    """An activity with its seats taken and waitlisted, and its completion.

    Who: any role; the check-in code is shown only to coordinators of the organising
    organisation or above and to admins (null for everyone else)."""
    found = q.aggregates.activity(ctx, activity_id)
    activity, organiser = found.activity, found.organiser
    return ActivityOut(
        id=activity.id,
        org_id=activity.org_id,
        title=activity.title,
        category=activity.category,
        location=activity.location,
        starts_at=activity.starts_at,
        ends_at=activity.ends_at,
        capacity=activity.capacity,
        campaign=activity.campaign,
        accepted=len(activity.accepted),
        waitlisted=len(activity.waitlist),
        check_in_code=activity.check_in_code if organiser else None,
        completed=activity.completed,
        beneficiaries=activity.beneficiaries,
    )


@router.post(
    "/v1/activities/{activity_id}/signups",
    status_code=201,
    response_model=SignupOut,
    tags=["signups"],
    summary="Sign up for an activity",
)
async def sign_up(activity_id: UUID, body: SignupIn, run: CommanderDep) -> dict[str, object]:
    """Signs a volunteer up: accepted while seats remain, else waitlisted (first come, first
    served). Signing up again after a cancellation renews the same signup.

    Who: the volunteer themself; a coordinator of the organising organisation or above; an
    admin."""
    return await run.create(
        SignUp(activity_id, body.volunteer_id), lambda made: f"/v1/signups/{made['id']}"
    )


@router.get(
    "/v1/signups/{signup_id}",
    response_model=SignupDetailOut,
    tags=["signups"],
    summary="Get a signup",
)
def get_signup(signup_id: UUID, q: QueriesDep, ctx: ContextDep) -> SignupDetailOut:
    """A signup: its state, check-in and check-out, measured and verified minutes.

    Who: the volunteer themself; a coordinator of the organising organisation or above; an
    auditor; an admin."""
    signup = q.aggregates.signup(ctx, signup_id)
    return SignupDetailOut(
        id=signup.id,
        activity_id=signup.activity_id,
        volunteer_id=signup.volunteer_id,
        org_id=signup.org_id,
        status=signup.status,
        checked_in_at=signup.checked_in_at,
        checked_out_at=signup.checked_out_at,
        measured_minutes=signup.measured_minutes,
        check_out_missed=signup.check_out_missed,
        check_in_time_given_by_coordinator=signup.check_in_time_given,
        check_out_time_given_by_coordinator=signup.check_out_time_given,
        decision=signup.decision,
        verified_minutes=signup.verified_minutes,
    )


@router.post(
    "/v1/signups/{signup_id}/cancel",
    response_model=SignupOut,
    tags=["signups"],
    summary="Cancel a signup",
)
async def cancel_signup(
    signup_id: UUID, run: CommanderDep, body: ReasonIn | None = None
) -> dict[str, object]:
    """Cancels a signup (the body, with a reason, may be left out); the seat goes to the first
    waitlisted volunteer.

    Who: the volunteer themself; a coordinator of the organising organisation or above; an
    admin."""
    return await run.run(CancelSignup(signup_id, body.reason if body else ""))


@router.post(
    "/v1/signups/{signup_id}/check-in",
    response_model=CheckInOut,
    tags=["signups"],
    summary="Check in",
    responses={429: {"description": "Too many requests"}},
    description=f"""Checks an accepted signup in, now or `at` a given moment: at most 3
check-ins a day per volunteer (a deployment rule), never overlapping the volunteer's other
service.

{ATTENDANCE_WHO}""",
)
async def check_in(
    signup_id: UUID, run: CommanderDep, body: AttendanceIn | None = None
) -> dict[str, object]:
    body = body or AttendanceIn()
    return await run.run(CheckIn(signup_id, body.at, body.code))


@router.post(
    "/v1/signups/{signup_id}/check-out",
    response_model=CheckOutOut,
    tags=["signups"],
    summary="Check out",
    responses={429: {"description": "Too many requests"}},
    description=f"""Checks a checked-in signup out, now or `at` a given moment, and answers the
service minutes measured: the time in, clipped to the scheduled window widened by the grace
period, rounded down to the granularity.

{ATTENDANCE_WHO}""",
)
async def check_out(
    signup_id: UUID, run: CommanderDep, body: AttendanceIn | None = None
) -> dict[str, object]:
    body = body or AttendanceIn()
    return await run.run(CheckOut(signup_id, body.at, body.code))


@router.post(
    "/v1/signups/{signup_id}/verify",
    response_model=VerificationOut,
    tags=["signups"],
    summary="Verify a signup's service",
)
async def verify_signup(signup_id: UUID, body: VerifyIn, run: CommanderDep) -> dict[str, object]:
    """Approves the measured minutes, adjusts them (`minutes` and a `reason`) or rejects them
    (a `reason`). Approval credits the volunteer exactly once, however often it is retried.

    Who: a coordinator of the organising organisation or above; an admin."""
    return await run.run(VerifySignup(signup_id, body.decision, body.minutes, body.reason))
