"""The pages' sign-in sessions: a desk's, kiosk's or coordinator's from their API token
(which ends them when it is revoked or expires), or a volunteer's from a one-time link.
Only a hash of the session id is kept; the CSRF secret is checked on every form.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tb_page_sessions",
        sa.Column("id_hash", sa.Text, primary_key=True),  # SHA-256 of the cookie's value
        sa.Column("token_id", sa.Text, nullable=True),  # tb_tokens.id it was opened with
        sa.Column("volunteer_id", sa.Text, nullable=True),  # or the volunteer of a link
        sa.Column("csrf_secret", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),  # UTC ISO text
        sa.Column("expires_at", sa.Text, nullable=False),
        sa.Column("revoked_at", sa.Text, nullable=True),
    )
    op.create_index("ix_tb_page_sessions_token", "tb_page_sessions", ["token_id"])
    # One-time sign-in links for volunteers: only the code's hash is kept.
    op.create_table(
        "tb_sign_in_links",
        sa.Column("code_hash", sa.Text, primary_key=True),
        sa.Column("volunteer_id", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Text, nullable=False),
        sa.Column("used_at", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("tb_sign_in_links")
    op.drop_table("tb_page_sessions")
