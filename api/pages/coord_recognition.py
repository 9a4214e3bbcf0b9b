"""The console's recognition section (/app/coord/recognition): trainings held, evaluations of
confirmed service, commendations and the awards of the subtree through their public notice
(公示), objections, review and confirmation. Every read is the API's own query and every
action the API's own command, with its own permission checks."""

import re
from datetime import date, datetime, time
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.pages import coord, web
from api.pages.messages import GENERAL, N_, coord_problem_message
from ledger import bounds
from ledger.awards import AwardStatus, Review
from ledger.commands.base import Command
from ledger.commands.recognition import (
    Commend,
    ConfirmAward,
    Evaluate,
    HoldTraining,
    ReviewAward,
)
from ledger.errors import DomainError
from ledger.trainings import Evaluator
from projections.pagination import Page
from timebank.page_sessions import PageSession

router = APIRouter(include_in_schema=False)
BASE = "/app/coord/recognition"
MAX_NUMBER = 40  # one volunteer number as typed, with room for spaces
MAX_NUMBERS_TEXT = 2000  # the attendees' numbers, one per line
MAX_ATTENDEES = 100  # numbers in one form: a page looks each up
MAX_TITLE = bounds.TITLE.high
MAX_TEXT = 500  # a reason or comment typed into the console
MAX_MINUTES_TEXT = 5
LISTED = 50  # trainings and awards shown
SERVICES_SHOWN = 20  # a volunteer's latest services offered for evaluation
NUMBER_SEPARATORS = re.compile(r"[\s,，、;；]+")
OPEN = (AwardStatus.IN_NOTICE.value, AwardStatus.OBJECTED.value)

# The problems a coordinator meets here, in their words; the rest as every page says them.
PROBLEMS = {
    "award-not-found": N_("No award has that number."),
    "signup-not-found": N_("No service has that number."),
    "not-verified": N_("This service has not been confirmed yet, so it cannot be evaluated."),
    "already-evaluated": N_("This service has already been evaluated."),
    "invalid-title": N_("Please write a title (at most 200 characters)."),
    "invalid-reason": N_("Please write the reason in at most 500 characters."),
    "reason-required": N_("Please write a reason."),
    "invalid-comment": N_("Please write the comment in at most 500 characters."),
    "invalid-minutes": N_("Please write how long the training lasted, in minutes (1 to 1440)."),
    "invalid-time": N_("Please give the day and the time the training was held."),
    "invalid-participants": N_("Please list from 1 to 100 volunteer numbers, one per line."),
    "duplicate-participant": N_("A volunteer is listed more than once."),
    "invalid-score": N_("Please choose a score from 1 to 5."),
    "invalid-evaluator": N_("Please choose whose evaluation this is."),
    "invalid-decision": N_("Please choose what to decide."),
    "nothing-to-review": N_("This award has no objection waiting for review."),
    "notice-running": N_("Its public notice has not ended yet: it can be confirmed after that."),
    "cannot-confirm": N_(
        "This award cannot be confirmed now: an objection is waiting, or it is no longer in notice."
    ),
}
STATUSES = {
    "in_notice": N_("in public notice"),
    "objected": N_("objected, waiting for review"),
    "confirmed": N_("confirmed"),
    "withdrawn": N_("withdrawn"),
    "revoked": N_("revoked"),
}
EVALUATORS = {
    Evaluator.ORGANISER.value: N_("The organiser's evaluation"),
    Evaluator.BENEFICIARY.value: N_("For the person served (recorded on their behalf)"),
}
DONE = {
    "training": N_("The training is recorded in each volunteer's record."),
    "commend": N_("The commendation is announced: it is in public notice now."),
    "confirm": N_("Confirmed: the objections are dismissed and the notice runs on."),
    "withdraw": N_("The award is withdrawn."),
    "confirmed": N_("The award is confirmed."),
    "evaluate": N_("The evaluation is recorded in the volunteer's record."),
}


class Refused(Exception):
    """A form the page refuses before any command: the problem's code, the value it is about."""

    def __init__(self, code: str, about: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.about = about


def _message(error: Exception) -> str:
    code = getattr(error, "code", "")
    if isinstance(error, Refused | DomainError) and code in PROBLEMS:
        return PROBLEMS[code]
    return coord.failure_message(error) if isinstance(error, web.FAILURES) else GENERAL


def _status(error: Exception) -> int:
    return 400 if isinstance(error, Refused) else web.failure_status(error)


def _text(form: dict[str, str], name: str, limit: int, code: str) -> str:
    value = form.get(name, "").strip()
    if len(value) > limit:
        raise Refused(code)
    return value


def _page(request: Request, session: PageSession, org_id: UUID, after: int | None) -> Any:
    """The trainings and awards of the subtree. The trainings' read refuses anyone who does
    not oversee the organisation, so the awards (a public read) show only past it."""
    q = web.runtime(request).queries.records
    ctx = web.context(request, session)
    trainings = q.trainings(ctx, org_id, Page(LISTED, None), after).items
    awards = q.awards(ctx, org_id, None, Page(LISTED, None), after).items
    return {
        "trainings": trainings,
        "in_notice": [a for a in awards if a.status in OPEN],
        "decided": [a for a in awards if a.status not in OPEN],
        "now": ctx.now,
        "notice_days": web.runtime(request).settings.rules.notice_days,
    }


async def _render(
    request: Request,
    session: PageSession,
    org_id: UUID | None,
    status: int = 200,
    after: int | None = None,
    **values: Any,
) -> Response:
    found: dict[str, Any] = {}
    if org_id is None:
        status, values["error"] = 404, coord_problem_message("organisation-not-found")
    else:
        try:
            found = await run_in_threadpool(_page, request, session, org_id, after)
        except web.FAILURES as e:
            status, values["error"] = _status(e), _message(e)
            values.pop("done", None)
    return coord.render(
        request,
        "coord_recognition.html",
        session,
        org_id,
        status,
        statuses=STATUSES,
        done_messages=DONE,
        max_title=MAX_TITLE,
        max_text=MAX_TEXT,
        max_numbers=MAX_NUMBERS_TEXT,
        **found,
        **values,
    )


@router.get(BASE)
async def recognition(request: Request) -> Response:
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    return await _render(request, session, coord.organisation_of(request, session))


async def _act(
    request: Request,
    build: Any,
    done: str,
) -> Response:
    """Runs the command `build` makes of the form (raising Refused for a form it cannot
    make one of), then shows the section again."""
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    form = await web.posted(request, session)
    if isinstance(form, Response):
        return form
    org_id = coord.organisation_of(request, session)
    if org_id is None:
        return await _render(request, session, None)
    try:
        command: Command = await run_in_threadpool(build, request, session, org_id, form)
        made = await web.execute(request, session, command, form)
    except (Refused, *web.FAILURES) as e:
        about = e.about if isinstance(e, Refused) else ""
        return await _render(
            request, session, org_id, _status(e), error=_message(e), about=about, typed=form
        )
    return await _render(request, session, org_id, after=made.get("position"), done=done)


def _volunteer_id(request: Request, session: PageSession, number: str) -> UUID:
    ctx = web.context(request, session)
    try:
        found = web.runtime(request).queries.aggregates.volunteer_by_number(ctx, number)
    except DomainError as e:
        raise Refused(e.code, number) from e
    return found.volunteer.id


def _held_at(request: Request, form: dict[str, str]) -> datetime:
    day, clock = form.get("day", "").strip(), form.get("time", "").strip()
    if len(day) > 10 or len(clock) > 8:
        raise Refused("invalid-time")
    try:
        held = datetime.combine(date.fromisoformat(day), time.fromisoformat(clock))
    except ValueError as e:
        raise Refused("invalid-time") from e
    return held.replace(tzinfo=ZoneInfo(web.runtime(request).settings.rules.timezone))


def _training(
    request: Request, session: PageSession, org_id: UUID, form: dict[str, str]
) -> HoldTraining:
    title = _text(form, "title", MAX_TITLE, "invalid-title")
    minutes = _text(form, "minutes", MAX_MINUTES_TEXT, "invalid-minutes")
    if not minutes.isdigit():
        raise Refused("invalid-minutes")
    held_at = _held_at(request, form)
    numbers = [n for n in NUMBER_SEPARATORS.split(form.get("numbers", "")) if n]
    if len(form.get("numbers", "")) > MAX_NUMBERS_TEXT or not 0 < len(numbers) <= MAX_ATTENDEES:
        raise Refused("invalid-participants")
    for number in numbers:
        if len(number) > MAX_NUMBER:
            raise Refused("invalid-volunteer-number", number[:MAX_NUMBER])
    # The same volunteer typed twice (or in two forms of the number) attends once.
    ids = dict.fromkeys(_volunteer_id(request, session, n) for n in numbers)
    return HoldTraining(org_id, title, held_at, int(minutes), tuple(ids))


@router.post(BASE + "/trainings")
async def hold_training(request: Request) -> Response:
    return await _act(request, _training, "training")


def _commendation(
    request: Request, session: PageSession, org_id: UUID, form: dict[str, str]
) -> Commend:
    number = _text(form, "number", MAX_NUMBER, "invalid-volunteer-number")
    title = _text(form, "title", MAX_TITLE, "invalid-title")
    reason = _text(form, "reason", MAX_TEXT, "invalid-reason")
    if not title:
        raise Refused("invalid-title")
    if not reason:
        raise Refused("reason-required")
    return Commend(_volunteer_id(request, session, number), org_id, title, reason)


@router.post(BASE + "/commend")
async def commend(request: Request) -> Response:
    return await _act(request, _commendation, "commend")


def _award_id(form: dict[str, str]) -> UUID:
    award_id = web.uuid_of(form.get("award", ""))
    if award_id is None:
        raise Refused("award-not-found")
    return award_id


def _review(
    request: Request, session: PageSession, org_id: UUID, form: dict[str, str]
) -> ReviewAward:
    award_id = _award_id(form)
    try:
        decision = Review(form.get("decision", ""))
    except ValueError as e:
        raise Refused("invalid-decision") from e
    reason = _text(form, "reason", MAX_TEXT, "invalid-reason")
    if not reason:
        raise Refused("reason-required")
    return ReviewAward(award_id, decision, reason)


@router.post(BASE + "/review")
async def review(request: Request) -> Response:
    decision = (await web.form_of(request)).get("decision", "")
    return await _act(request, _review, decision if decision in DONE else "confirm")


def _confirmation(
    request: Request, session: PageSession, org_id: UUID, form: dict[str, str]
) -> ConfirmAward:
    return ConfirmAward(_award_id(form))


@router.post(BASE + "/confirm")
async def confirm(request: Request) -> Response:
    return await _act(request, _confirmation, "confirmed")


# Evaluations: from a volunteer's confirmed services -----------------------------------------


def _services(request: Request, session: PageSession, number: str, after: int | None) -> Any:
    """The volunteer's latest services from activities (signups), each with whether the
    organiser has evaluated it: read from their service record, which only a coordinator of
    their home organisation or above may read."""
    q = web.runtime(request).queries
    ctx = web.context(request, session)
    volunteer_id = _volunteer_id(request, session, number)
    record = q.records.service_record(ctx, volunteer_id, SERVICES_SHOWN, after).record
    evaluated = {(e.signup_id, e.by) for e in record.evaluations}
    return {
        "volunteer": {"id": volunteer_id, "number": record.volunteer_number},
        "services": [s for s in record.services if s.source_kind == "signup"],
        "evaluated": evaluated,
        "evaluations": record.evaluations,
    }


async def _evaluate_page(
    request: Request,
    session: PageSession,
    number: str,
    status: int = 200,
    after: int | None = None,
    **values: Any,
) -> Response:
    org_id = coord.organisation_of(request, session)
    found: dict[str, Any] = {}
    if number:
        try:
            if len(number) > MAX_NUMBER:
                raise Refused("invalid-volunteer-number")
            found = await run_in_threadpool(_services, request, session, number, after)
        except (Refused, *web.FAILURES) as e:
            status, values["error"] = _status(e), _message(e)
            values.pop("done", None)
    return coord.render(
        request,
        "coord_evaluate.html",
        session,
        org_id,
        status,
        number=number[:MAX_NUMBER],
        evaluators=EVALUATORS,
        done_messages=DONE,
        max_text=MAX_TEXT,
        **found,
        **values,
    )


@router.get(BASE + "/evaluate")
async def evaluations(request: Request) -> Response:
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    return await _evaluate_page(request, session, request.query_params.get("number", "").strip())


def _evaluation(form: dict[str, str]) -> Evaluate:
    signup_id = web.uuid_of(form.get("signup", ""))
    if signup_id is None:
        raise Refused("signup-not-found")
    score = form.get("score", "").strip()
    if score not in ("1", "2", "3", "4", "5"):
        raise Refused("invalid-score")
    try:
        by = Evaluator(form.get("by", ""))
    except ValueError as e:
        raise Refused("invalid-evaluator") from e
    comment = _text(form, "comment", MAX_TEXT, "invalid-comment")
    return Evaluate(signup_id, int(score), by, comment)


@router.post(BASE + "/evaluate")
async def evaluate(request: Request) -> Response:
    session = await coord.coordinator(request)
    if isinstance(session, Response):
        return session
    form = await web.posted(request, session)
    if isinstance(form, Response):
        return form
    number = form.get("number", "").strip()
    try:
        made = await web.execute(request, session, _evaluation(form), form)
    except (Refused, *web.FAILURES) as e:
        return await _evaluate_page(request, session, number, _status(e), error=_message(e))
    return await _evaluate_page(
        request, session, number, after=made.get("position"), done="evaluate"
    )
