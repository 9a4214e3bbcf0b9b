"""The certificates view: each certificate issued with its content and status, and every
service credit and correction by its source, the events a certificate's minutes rest on.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tb_cert_certificates",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("number", sa.Text, nullable=False, unique=True),
        sa.Column("volunteer_id", sa.Text, nullable=False),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),  # valid or superseded
        sa.Column("content", sa.Text, nullable=False),  # JSON, as issued (erased: redacted)
        sa.Column("digest", sa.Text, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),  # of the Issued event
        sa.Column("issued_on", sa.Text, nullable=False),
        sa.Column("period_from", sa.Text, nullable=False),
        sa.Column("period_to", sa.Text, nullable=False),
        sa.Column("total_minutes", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_tb_cert_certificates_volunteer", "tb_cert_certificates", ["volunteer_id"])
    op.create_table(
        "tb_cert_listed",  # the services each certificate lists
        sa.Column("source_id", sa.Text, primary_key=True),
        sa.Column("certificate_id", sa.Text, primary_key=True),
    )
    op.create_table(
        "tb_cert_credits",  # ServiceCredited and ServiceCorrected, by source
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("source_id", sa.Text, nullable=False),
        sa.Column("account_id", sa.Text, nullable=False),
    )
    op.create_index("ix_tb_cert_credits_source", "tb_cert_credits", ["source_id"])


def downgrade() -> None:
    for table in ("tb_cert_credits", "tb_cert_listed", "tb_cert_certificates"):
        op.drop_table(table)
