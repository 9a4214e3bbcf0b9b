"""The worklist view: what a coordinator's subtree has to do (activities, signups by status,
back-fills, disputes) and the organisation tree it is listed by.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def text(name: str, primary_key: bool = False) -> sa.Column:
    return sa.Column(name, sa.Text, primary_key=primary_key, nullable=False)


def optional(name: str) -> sa.Column:
    return sa.Column(name, sa.Text, nullable=True)


def number(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger, nullable=False)


def upgrade() -> None:
    op.create_table(
        "tb_work_orgs",
        text("id", primary_key=True),
        text("name"),
        text("kind"),
        optional("parent_id"),
        text("trail"),  # the names from the root down, separated by U+001F: the list's order
    )
    op.create_table(
        "tb_work_org_tree",
        text("ancestor_id", primary_key=True),
        text("org_id", primary_key=True),
        number("depth"),  # of org_id below ancestor_id (0: itself)
    )
    op.create_table("tb_work_volunteers", text("id", primary_key=True), text("number"))
    op.create_table(
        "tb_work_activities",
        text("id", primary_key=True),
        text("org_id"),
        text("title"),
        text("category"),
        optional("campaign"),
        text("starts_at"),
        text("ends_at"),
        number("capacity"),
        text("status"),
        sa.Column("beneficiaries", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_tb_work_activities_org", "tb_work_activities", ["org_id", "starts_at"])
    op.create_table(
        "tb_work_signups",
        text("id", primary_key=True),
        text("activity_id"),
        text("org_id"),
        text("volunteer_id"),
        text("status"),
        optional("checked_in_at"),
        optional("checked_out_at"),
        sa.Column("minutes", sa.BigInteger, nullable=True),
        number("status_position"),  # of the event that gave it its status: the list's order
    )
    op.create_index(
        "ix_tb_work_signups_org", "tb_work_signups", ["org_id", "status", "status_position"]
    )
    op.create_index("ix_tb_work_signups_activity", "tb_work_signups", ["activity_id", "status"])
    op.create_table(
        "tb_work_backfills",
        text("id", primary_key=True),
        text("org_id"),
        text("volunteer_id"),
        text("category"),
        text("started_at"),
        text("ended_at"),
        number("minutes"),
        text("status"),
        text("submitted_by"),
        text("submitted_at"),
        number("position"),
    )
    op.create_index(
        "ix_tb_work_backfills_org", "tb_work_backfills", ["org_id", "status", "position"]
    )
    op.create_table(
        "tb_work_disputes",
        text("id", primary_key=True),
        text("org_id"),
        text("volunteer_id"),
        text("source_id"),
        text("source_kind"),
        number("previous_minutes"),
        text("status"),
        text("opened_at"),
        number("position"),
    )
    op.create_index("ix_tb_work_disputes_org", "tb_work_disputes", ["org_id", "status", "position"])


TABLES = (
    "tb_work_disputes",
    "tb_work_backfills",
    "tb_work_signups",
    "tb_work_activities",
    "tb_work_volunteers",
    "tb_work_org_tree",
    "tb_work_orgs",
)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
