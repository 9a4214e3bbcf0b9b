"""The rewards view: each venue's rewards with the stock left.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tb_rewards",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("venue_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("cost_minutes", sa.BigInteger, nullable=False),
        sa.Column("stock", sa.BigInteger, nullable=False),  # left: not reserved, not handed out
        sa.Column("per_volunteer_limit", sa.BigInteger, nullable=True),
        sa.Column("position", sa.BigInteger, nullable=False),  # of the Listed event
    )
    op.create_index("ix_tb_rewards_venue", "tb_rewards", ["venue_id", "position"])


def downgrade() -> None:
    op.drop_table("tb_rewards")
