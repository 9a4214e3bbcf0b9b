"""Balances, postings, redemptions awaiting hand-out, projection positions, API tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def minutes(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger, nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        "projection_positions",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "tb_accounts",
        sa.Column("account", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("owner_id", sa.Text, nullable=False),
        sa.Column("aggregate_id", sa.Text, unique=True),
        minutes("balance"),
        minutes("reserved"),
        minutes("earned"),
        minutes("spent"),
        minutes("service_minutes"),
    )
    op.create_table(
        "tb_postings",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("debit", sa.Text, nullable=False),
        sa.Column("credit", sa.Text, nullable=False),
        sa.Column("minutes", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("memo", sa.Text, nullable=False, server_default=""),
        sa.Column("recorded_at", sa.Text, nullable=False),
    )
    op.create_index("tb_postings_debit", "tb_postings", ["debit", "position"])
    op.create_index("tb_postings_credit", "tb_postings", ["credit", "position"])
    op.create_table(
        "tb_redemptions",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("volunteer_id", sa.Text, nullable=False),
        sa.Column("venue_id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Text, nullable=False),
    )
    op.create_index("tb_redemptions_due", "tb_redemptions", ["status", "expires_at"])
    op.create_table(
        "tb_tokens",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("token_hash", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("scope_id", sa.Text),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("revoked_at", sa.Text),
    )


def downgrade() -> None:
    for table in ("tb_tokens", "tb_redemptions", "tb_postings", "tb_accounts"):
        op.drop_table(table)
    op.drop_table("projection_positions")
