"""Read models that cannot apply their next batch. Such a read model is not skipped past the
event (a read model equals its computation from the log, or says it is behind): it is tried
again after a pause that doubles from BACKOFF_SECONDS up to MAX_BACKOFF_SECONDS, its error is
logged once per new error rather than once per attempt, and the failure is recorded in
`projection_failures`, where readiness checks of every process and `timebank projections
status` read it, until a batch applies again."""

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from projections.db import Cursor, Database, utc_text

log = structlog.get_logger(__name__)

BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
MAX_ERROR = 1000  # characters of an error kept


@dataclass(frozen=True)
class Failure:
    position: int  # the last event applied: the next one is the one that fails
    error: str
    failed_since: datetime
    attempts: int

    @property
    def kind(self) -> str:
        """The error's type alone (`describe` writes `Type: text`)."""
        return self.error.split(":", 1)[0]


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:MAX_ERROR]


class Failures:
    """The failures of the read models this process applies."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.current: dict[str, Failure] = {}
        self._retry_at: dict[str, float] = {}

    def due(self, name: str) -> bool:
        """Whether the read model may be tried now (it is not failing, or its pause is over)."""
        return time.monotonic() >= self._retry_at.get(name, 0.0)

    def retry_now(self) -> None:
        """Ends every pause: called when the store answers again after an outage."""
        self._retry_at.clear()

    def failed(self, name: str, position: int, error: BaseException) -> None:
        text = describe(error)
        previous = self.current.get(name)
        if previous is None or previous.error != text:
            log.error(
                "read model stuck", projection=name, position=position, error=text, exc_info=error
            )
        same = previous is not None and previous.position == position
        failure = Failure(
            position,
            text,
            previous.failed_since if same and previous else datetime.now(UTC),
            previous.attempts + 1 if same and previous else 1,
        )
        self.current[name] = failure
        pause = min(BACKOFF_SECONDS * 2 ** (failure.attempts - 1), MAX_BACKOFF_SECONDS)
        self._retry_at[name] = time.monotonic() + pause
        self._write(name, failure)

    def recovered(self, name: str) -> None:
        if self.current.pop(name, None) is None:
            return
        self._retry_at.pop(name, None)
        log.info("read model recovered", projection=name)
        self._write(name, None)

    def _write(self, name: str, failure: Failure | None) -> None:
        """Records the failure (or its end) for other processes; best effort: the store may be
        what fails."""
        try:
            with self._db.transaction() as cur:
                cur.execute("DELETE FROM projection_failures WHERE name = %s", (name,))
                if failure is not None:
                    cur.execute(
                        "INSERT INTO projection_failures "
                        "(name, position, error, failed_since, attempts) "
                        "VALUES (%s, %s, %s, %s, %s)",
                        (
                            name,
                            failure.position,
                            failure.error,
                            utc_text(failure.failed_since),
                            failure.attempts,
                        ),
                    )
        except Exception as e:
            log.warning("recording a read model's failure failed", projection=name, error=str(e))


def read_failures(cur: Cursor) -> dict[str, Failure]:
    cur.execute("SELECT name, position, error, failed_since, attempts FROM projection_failures")
    return {
        str(name): Failure(int(position), str(error), datetime.fromisoformat(since), int(n))
        for name, position, error, since, n in cur.fetchall()
    }
