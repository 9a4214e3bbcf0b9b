"""The query parameters of a paginated list (projections/pagination.py: pages and cursors)."""

from typing import Annotated

from fastapi import Depends, Query

from projections.pagination import Page

Limit = Annotated[int, Query(ge=1, le=1000, description="at most this many items")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=500,
        pattern=r"^[A-Za-z0-9_-]*$",  # URL-safe base64 without padding
        description="`next_cursor` of the previous page",
    ),
]


async def page(limit: Limit = 100, cursor: Cursor = None) -> Page:
    return Page(limit, cursor)


PageDep = Annotated[Page, Depends(page)]
