"""- A read model that cannot apply an event says so: its failure, kept where every process
  and the command line can read it.
- Check-ins awaiting check-out, which the sweeper closes once their window has: a new read
  model, which follows the log from its start.
- A correction's reversal no longer counts as spending (it lowers what was earned): the
  balances view is rebuilt to say so of past corrections.

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
    op.create_table(
        "tb_open_check_ins",
        sa.Column("signup_id", sa.Text, primary_key=True),
        sa.Column("closes_at", sa.Text, nullable=True),  # UTC ISO text; null: not recorded
    )
    op.create_index("tb_open_check_ins_due", "tb_open_check_ins", ["closes_at"])
    op.execute(
        "INSERT INTO projection_rebuilds (name, reason) "
        "SELECT 'balances', 'a correction changes earned, not spent' "
        "WHERE EXISTS (SELECT 1 FROM projection_positions WHERE name = 'balances') "
        "AND NOT EXISTS (SELECT 1 FROM projection_rebuilds WHERE name = 'balances')"
    )


def downgrade() -> None:
    op.drop_table("tb_open_check_ins")
    op.drop_table("projection_failures")
