from uuid import UUID

from fastapi import APIRouter

from api.deps import CommanderDep, ContextDep, RuntimeDep
from api.schemas import (
    ActivityCreatedOut,
    ActivityIn,
    ActivityOut,
    AttendanceIn,
    CheckInOut,
    CheckOutOut,
    ReasonIn,
    SignupDetailOut,
    SignupIn,
    SignupOut,
    VerificationOut,
    VerifyIn,
)
from ledger.activities import Activity
from ledger.commands import (
    CancelSignup,
    CheckIn,
    CheckOut,
    PublishActivity,
    SignUp,
    VerifySignup,
)
from ledger.permissions import coordinates, require_signup_reader
from ledger.signups import Signup

router = APIRouter(tags=["activities and signups"])


@router.post("/v1/activities", status_code=201, response_model=ActivityCreatedOut)
async def publish_activity(body: ActivityIn, run: CommanderDep) -> dict[str, object]:
    return await run.run(PublishActivity(**body.model_dump()))


@router.get("/v1/activities/{activity_id}", response_model=ActivityOut)
def get_activity(activity_id: UUID, rt: RuntimeDep, ctx: ContextDep) -> ActivityOut:
    activity = rt.service.load(Activity, activity_id, "activity")
    organiser = coordinates(rt.service.reader(ctx), ctx.actor, activity.org_id)
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


@router.post("/v1/activities/{activity_id}/signups", status_code=201, response_model=SignupOut)
async def sign_up(activity_id: UUID, body: SignupIn, run: CommanderDep) -> dict[str, object]:
    return await run.run(SignUp(activity_id, body.volunteer_id))


@router.get("/v1/signups/{signup_id}", response_model=SignupDetailOut)
def get_signup(signup_id: UUID, rt: RuntimeDep, ctx: ContextDep) -> SignupDetailOut:
    signup = rt.service.load(Signup, signup_id, "signup")
    reader = rt.service.reader(ctx)
    require_signup_reader(reader, ctx.actor, signup.volunteer_id, signup.org_id)
    return SignupDetailOut(
        id=signup.id,
        activity_id=signup.activity_id,
        volunteer_id=signup.volunteer_id,
        org_id=signup.org_id,
        status=signup.status.value,
        checked_in_at=signup.checked_in_at,
        checked_out_at=signup.checked_out_at,
        measured_minutes=signup.measured_minutes,
        decision=signup.decision,
        verified_minutes=signup.credited_minutes,
    )


@router.post("/v1/signups/{signup_id}/cancel", response_model=SignupOut)
async def cancel_signup(
    signup_id: UUID, run: CommanderDep, body: ReasonIn | None = None
) -> dict[str, object]:
    return await run.run(CancelSignup(signup_id, body.reason if body else ""))


@router.post("/v1/signups/{signup_id}/check-in", response_model=CheckInOut)
async def check_in(
    signup_id: UUID, run: CommanderDep, body: AttendanceIn | None = None
) -> dict[str, object]:
    body = body or AttendanceIn()
    return await run.run(CheckIn(signup_id, body.at, body.code))


@router.post("/v1/signups/{signup_id}/check-out", response_model=CheckOutOut)
async def check_out(
    signup_id: UUID, run: CommanderDep, body: AttendanceIn | None = None
) -> dict[str, object]:
    body = body or AttendanceIn()
    return await run.run(CheckOut(signup_id, body.at, body.code))


@router.post("/v1/signups/{signup_id}/verify", response_model=VerificationOut)
async def verify(signup_id: UUID, body: VerifyIn, run: CommanderDep) -> dict[str, object]:
    return await run.run(VerifySignup(signup_id, body.decision, body.minutes, body.reason))
