"""A read model that cannot apply an event says so: its failure, kept where every process and
the command line can read it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projection_failures",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),  # the last event it applied
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("failed_since", sa.Text, nullable=False),  # UTC ISO text
        sa.Column("attempts", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("projection_failures")
