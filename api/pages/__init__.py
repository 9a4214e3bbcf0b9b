"""Server-rendered pages under /app (Jinja2, zh-CN first, htmx only to enhance forms that
work without it), beside the JSON API in the same app; static files under /static."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.pages import desk, signin
from timebank.page_sessions import PageSessions
from timebank.runtime import Runtime

STATIC = Path(__file__).parent / "static"
AREAS = (signin, desk)


def install(app: FastAPI, runtime: Runtime) -> None:
    app.state.page_sessions = PageSessions(runtime.db, runtime.tokens)
    for area in AREAS:
        app.include_router(area.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
