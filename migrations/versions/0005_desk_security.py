"""Secrets kept outside the log: volunteers' PINs (slow salted hashes) and the counts of
wrong codes and PINs tried, per caller and per target (times as seconds since the epoch).
Written by the adapter in timebank/secrets.py, not by a read model.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tb_volunteer_pins",
        sa.Column("volunteer_id", sa.Text, primary_key=True),
        sa.Column("pin_hash", sa.Text, nullable=False),  # scrypt$n$r$p$salt$digest
        sa.Column("set_at", sa.Text, nullable=False),  # UTC ISO text
    )
    op.create_table(
        "tb_secret_failures",
        sa.Column("target_kind", sa.Text, primary_key=True),  # or "caller": per principal
        sa.Column("target_id", sa.Text, primary_key=True),
        sa.Column("window_started_at", sa.Float, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tb_secret_failures")
    op.drop_table("tb_volunteer_pins")
