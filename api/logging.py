"""JSON logs through structlog; every line of a request carries its request id.

structlog's own loggers render and write their lines directly (the request line is written
for every request: going through the stdlib's logging machinery cost three times as much);
lines from stdlib loggers (uvicorn, alembic) get the same fields and the same renderer."""

import logging
import sys
import threading

import structlog

_write_lock = threading.Lock()


class LineLogger:
    """Writes each rendered line to standard error. It carries the name it was asked for, so
    that each line says which logger wrote it."""

    def __init__(self, name: str = "") -> None:
        self.name = name

    def msg(self, message: str) -> None:
        with _write_lock:
            sys.stderr.write(message + "\n")

    debug = info = warning = error = critical = exception = msg


def configure_logging(level: str = "info") -> None:
    root = logging.getLogger()
    root.setLevel(level.upper())
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    render = structlog.processors.JSONRenderer(ensure_ascii=False)
    structlog.configure(
        processors=[*shared, render],
        logger_factory=LineLogger,
        wrapper_class=structlog.make_filtering_bound_logger(root.level),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, render],
            foreign_pre_chain=shared,
        )
    )
    root.handlers[:] = [handler]
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # the request middleware logs requests
