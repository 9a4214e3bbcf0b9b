"""Statement entries with running balances; audit trails of volunteers, activities and
redemptions.

The balances view gains a table that only a replay can fill: the migration asks for a
blue/green rebuild of it (projection_rebuilds), which `serve` runs in the background while
the current balances keep serving; the audit view starts from the beginning of the log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def text(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Text, nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "tb_account_entries",
        text("account"),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),  # the posting's order within its event
        text("posting_id"),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("balance", sa.BigInteger, nullable=False),
        text("kind"),
        text("memo"),
        text("counterparty"),
        text("reference", nullable=True),
        text("occurred_at"),
        text("recorded_at"),
        sa.PrimaryKeyConstraint("account", "position", "seq"),
    )
    op.create_index(
        "tb_account_entries_recorded",
        "tb_account_entries",
        ["account", "recorded_at", "position", "seq"],
    )
    op.create_table(
        "tb_audit_trail",
        text("subject_kind"),
        text("subject_id"),
        sa.Column("position", sa.BigInteger, nullable=False),
        text("event_type"),
        text("aggregate_id"),
        sa.Column("aggregate_version", sa.BigInteger, nullable=False),
        text("actor"),
        text("role"),
        text("request_id"),
        text("occurred_at"),
        text("recorded_at"),
        text("reason", nullable=True),
        text("details"),
        sa.PrimaryKeyConstraint("subject_kind", "subject_id", "position"),
    )
    op.create_table(
        "tb_audit_owners",
        text("aggregate_id"),
        text("subject_kind"),
        text("subject_id"),
        sa.PrimaryKeyConstraint("aggregate_id", "subject_kind", "subject_id"),
    )
    op.create_table(
        "projection_rebuilds",
        sa.Column("name", sa.Text, primary_key=True),
        text("reason"),
    )
    op.execute(
        "INSERT INTO projection_rebuilds (name, reason) "
        "SELECT 'balances', 'statement entries were added' "
        "WHERE EXISTS (SELECT 1 FROM projection_positions WHERE name = 'balances')"
    )


def downgrade() -> None:
    for table in ("projection_rebuilds", "tb_audit_owners", "tb_audit_trail", "tb_account_entries"):
        op.drop_table(table)
    op.execute("DELETE FROM projection_positions WHERE name = 'audit'")
