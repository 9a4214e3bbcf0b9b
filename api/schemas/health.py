"""Bodies of the operations routes."""

from typing import Literal

from pydantic import (
    AwareDatetime,
    Field,
)

from api.schemas.common import Out, View


class Health(Out):
    status: Literal["ok"]


class StoreCheck(Out):
    available: bool
    error: str | None = Field(description="why not, when it does not answer")
    log_head: int | None = Field(description="the last log position the store reported")


class FailureOut(View):
    position: int = Field(description="the last event it applied; the next one fails")
    error: str = Field(
        description="the kind of error; its text is shown by `timebank projections status`"
    )
    failed_since: AwareDatetime
    attempts: int


class ProjectionCheck(Out):
    position: int
    lag: int | None = Field(description="events behind the log head (never negative)")
    failure: FailureOut | None = Field(description="set while it cannot apply the next event")


class LogTreeCheck(Out):
    tree_size: int = Field(description="leaves of the log's Merkle tree")
    position: int = Field(description="the log position of its last leaf")
    lag: int | None = Field(description="events behind the log head (never negative)")


class Readiness(Out):
    status: Literal["ready", "unavailable"]
    problems: list[str] = Field(description="why it is unavailable, in words")
    store: StoreCheck
    projections: dict[str, ProjectionCheck]
    log_tree: LogTreeCheck = Field(description="how far the log's Merkle tree is built")
