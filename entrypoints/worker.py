"""One HTTP worker process of `timebank serve --workers N` (PostgreSQL). uvicorn starts each
worker with this factory: the worker reads the same TIMEBANK_* settings, opens its own
connections and serves requests and commands; the serving process has migrated the store and
runs the projections and the sweeper, so a worker only keeps up with the read models'
positions."""

import sys

import structlog
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE

from api.app import create_app
from api.logging import configure_logging
from timebank.runtime import Runtime, freeze_startup_heap
from timebank.settings import Settings

log = structlog.get_logger(__name__)


def create_worker_app() -> FastAPI:
    settings = Settings()
    configure_logging(settings.log_level)
    try:
        rt = Runtime(settings, migrate=False)
        rt.follow_positions()
    except Exception:
        log.exception("an HTTP worker cannot open the store")
        sys.exit(STARTUP_FAILURE)  # the supervisor then stops instead of starting it again
    api = create_app(rt, owns_runtime=True)
    freeze_startup_heap()
    return api
