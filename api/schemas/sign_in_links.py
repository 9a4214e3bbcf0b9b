from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas.common import Body, Pin


class SignInLinkIn(Body):
    pin: Pin | None = Field(
        default=None, description="the volunteer's PIN: required when a desk asks"
    )


class SignInLinkOut(BaseModel):
    url: str = Field(description="the page that signs the volunteer in, once (path and code)")
    code: str = Field(description="the one-time code in the link; kept only as a hash")
    expires_at: datetime
