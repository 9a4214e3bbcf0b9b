"""Server-rendered pages under /app (Jinja2, zh-CN first, htmx only to enhance forms that
work without it), beside the JSON API in the same app; static files under /static."""

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from api.pages import (
    audit,
    coord,
    coord_activities,
    coord_certificates,
    coord_corrections,
    coord_queue,
    coord_recognition,
    coord_reports,
    coord_volunteers,
    desk,
    kiosk,
    me,
    public,
    signin,
    web,
)
from timebank.page_sessions import PageSessions
from timebank.runtime import Runtime

STATIC = Path(__file__).parent / "static"
AREAS = (
    signin,
    desk,
    me,
    kiosk,
    audit,
    public,
    coord,
    coord_activities,
    coord_queue,
    coord_corrections,
    coord_recognition,
    coord_volunteers,
    coord_certificates,
    coord_reports,
)
UPLOADS = {audit.BUNDLE_PATH: audit.MAX_UPLOAD_BYTES}  # paths that take a file: their limit
unmatched = APIRouter(include_in_schema=False)


@unmatched.get("/app/{rest:path}")
async def no_such_page(request: Request, rest: str) -> Response:
    return web.refused(request, "not-found", 404)


async def unavailable(request: Request, exc: Exception) -> Response:
    response = web.refused(request, "unavailable", 503)
    response.headers["Retry-After"] = "5"
    return response


def install(app: FastAPI, runtime: Runtime) -> None:
    app.state.page_sessions = PageSessions(runtime.db, runtime.tokens)
    for area in AREAS:
        app.include_router(area.router)
    app.include_router(unmatched)  # the last of /app: a page, not JSON
    app.add_exception_handler(web.Unavailable, unavailable)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
