"""Records: directory, credited sources and the pre-aggregated service totals, disputes,
trainings, evaluations and awards (projections/records/).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def text(name: str, **kw: object) -> sa.Column:
    return sa.Column(name, sa.Text, nullable=False, **kw)  # type: ignore[arg-type]


def optional(name: str) -> sa.Column:
    return sa.Column(name, sa.Text, nullable=True)


def minutes(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger, nullable=False, server_default="0")


def flag(name: str) -> sa.Column:
    return sa.Column(name, sa.Boolean, nullable=False, server_default=sa.false())


def upgrade() -> None:
    _directory()
    _credits()
    _disputes_and_trainings()
    _recognition()


def _directory() -> None:
    """Organisations, volunteers, activities and campaigns, without personal data."""
    op.create_table(
        "tb_rec_orgs",
        text("id", primary_key=True),
        text("name"),
        text("kind"),
        optional("parent_id"),
        sa.Column("population", sa.BigInteger, nullable=True),
        minutes("members"),  # volunteers whose home organisation is in the subtree
    )
    op.create_table(
        "tb_rec_org_tree",  # closure: one row per (ancestor or self, organisation)
        text("ancestor_id", primary_key=True),
        text("org_id", primary_key=True),
    )
    op.create_index("tb_rec_org_tree_org", "tb_rec_org_tree", ["org_id"])
    op.create_table(
        "tb_rec_volunteers",
        text("id", primary_key=True),
        text("account_id", unique=True),
        text("number"),
        text("home_org_id"),
        flag("party_member"),
        text("registered_on"),
        minutes("service_minutes"),
        minutes("training_minutes"),
    )
    op.create_index("tb_rec_volunteers_home", "tb_rec_volunteers", ["home_org_id", "party_member"])
    op.create_table(
        "tb_rec_activities",
        text("id", primary_key=True),
        text("org_id"),
        text("title"),
        text("category"),
        optional("campaign"),
        text("service_date"),
        text("year"),
        text("month"),
        flag("completed"),
        minutes("beneficiaries"),
    )
    op.create_index("tb_rec_activities_year", "tb_rec_activities", ["org_id", "year"])
    op.create_index("tb_rec_activities_month", "tb_rec_activities", ["org_id", "month"])
    op.create_index("tb_rec_activities_campaign", "tb_rec_activities", ["campaign", "org_id"])
    op.create_table(
        "tb_rec_campaigns",
        text("name", primary_key=True),
        text("first_date"),
        text("last_date"),
    )


def _credits() -> None:
    """What each credit is for, and the service totals built from them."""
    op.create_table(
        "tb_rec_sources",  # what a credit is for: a signup or a back-fill
        text("id", primary_key=True),
        text("kind"),
        text("volunteer_id"),
        text("org_id"),
        optional("activity_id"),
        text("title"),
        text("category"),
        optional("campaign"),
        text("service_date"),
        optional("home_org_id"),  # the member attribution of its credit
        flag("credited"),
        minutes("minutes"),
        minutes("credits"),
        sa.Column("original_minutes", sa.BigInteger, nullable=True),
        minutes("corrections"),
        optional("credited_at"),
    )
    op.create_index(
        "tb_rec_sources_volunteer",
        "tb_rec_sources",
        ["volunteer_id", "credited", "service_date"],
    )
    op.create_table(
        "tb_rec_member_minutes",
        text("org_id", primary_key=True),
        text("period", primary_key=True),
        minutes("minutes"),
    )
    op.create_table(
        "tb_rec_volunteer_minutes",
        text("org_id", primary_key=True),
        text("period", primary_key=True),
        text("volunteer_id", primary_key=True),
        minutes("minutes"),
    )
    op.create_index(
        "tb_rec_volunteer_minutes_rank",
        "tb_rec_volunteer_minutes",
        ["org_id", "period", "minutes", "volunteer_id"],
    )
    op.create_table(
        "tb_rec_category_minutes",
        text("org_id", primary_key=True),
        text("period", primary_key=True),
        text("category", primary_key=True),
        minutes("minutes"),
    )
    op.create_table(
        "tb_rec_personal_minutes",
        text("volunteer_id", primary_key=True),
        text("period", primary_key=True),
        minutes("minutes"),
    )


def _disputes_and_trainings() -> None:
    """Disputes, trainings and their attendance."""
    op.create_table(
        "tb_rec_disputes",
        text("id", primary_key=True),
        text("volunteer_id"),
        text("source_id"),
        text("source_kind"),
        text("org_id"),
        sa.Column("previous_minutes", sa.BigInteger, nullable=False),
        text("requested_reason"),
        text("opened_at"),
        text("status"),
        sa.Column("corrected_minutes", sa.BigInteger, nullable=True),
        optional("resolution_reason"),
        optional("resolved_at"),
        sa.Column("resolved_position", sa.BigInteger, nullable=True),
    )
    op.create_index("tb_rec_disputes_volunteer", "tb_rec_disputes", ["volunteer_id", "status"])
    op.create_table(
        "tb_rec_trainings",
        text("id", primary_key=True),
        text("org_id"),
        text("title"),
        text("held_at"),
        text("held_on"),
        text("year"),
        text("month"),
        sa.Column("minutes", sa.BigInteger, nullable=False),
    )
    op.create_index("tb_rec_trainings_org", "tb_rec_trainings", ["org_id", "held_on"])
    op.create_table(
        "tb_rec_training_attendance",
        text("training_id", primary_key=True),
        text("volunteer_id", primary_key=True),
        text("org_id"),
        text("held_on"),
        text("year"),
        text("month"),
    )
    op.create_index(
        "tb_rec_training_attendance_volunteer",
        "tb_rec_training_attendance",
        ["volunteer_id", "held_on"],
    )
    op.create_index(
        "tb_rec_training_attendance_org", "tb_rec_training_attendance", ["org_id", "held_on"]
    )


def _recognition() -> None:
    """Evaluations and awards."""
    op.create_table(
        "tb_rec_evaluations",
        text("id", primary_key=True),
        text("volunteer_id"),
        text("signup_id"),
        text("activity_id"),
        text("org_id"),
        sa.Column("score", sa.Integer, nullable=False),
        text("evaluator"),
        text("comment"),
        text("given_at"),
        sa.Column("position", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "tb_rec_evaluations_volunteer", "tb_rec_evaluations", ["volunteer_id", "position"]
    )
    op.create_table(
        "tb_rec_awards",
        text("id", primary_key=True),
        text("volunteer_id"),
        text("org_id"),
        text("kind"),
        sa.Column("level", sa.Integer, nullable=True),
        text("title"),
        text("reason"),
        text("status"),
        text("notice_ends_at"),
        text("announced_at"),
        minutes("objections"),
        optional("decided_at"),
        sa.Column("position", sa.BigInteger, nullable=False),
    )
    op.create_index("tb_rec_awards_volunteer", "tb_rec_awards", ["volunteer_id", "position"])
    op.create_index("tb_rec_awards_org", "tb_rec_awards", ["org_id", "position"])
    op.create_index("tb_rec_awards_status", "tb_rec_awards", ["status", "position"])
    op.create_index("tb_rec_awards_due", "tb_rec_awards", ["status", "notice_ends_at"])
    op.create_index("tb_rec_awards_position", "tb_rec_awards", ["position"])


TABLES = (
    "tb_rec_awards",
    "tb_rec_evaluations",
    "tb_rec_training_attendance",
    "tb_rec_trainings",
    "tb_rec_disputes",
    "tb_rec_personal_minutes",
    "tb_rec_category_minutes",
    "tb_rec_volunteer_minutes",
    "tb_rec_member_minutes",
    "tb_rec_sources",
    "tb_rec_campaigns",
    "tb_rec_activities",
    "tb_rec_volunteers",
    "tb_rec_org_tree",
    "tb_rec_orgs",
)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
    # a downgrade is a rebuild: the view starts again from the beginning of the log
    op.execute("DELETE FROM projection_positions WHERE name = 'records'")
