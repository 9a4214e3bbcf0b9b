"""The volunteers' data keys, under which their personal data is sealed in the log, wrapped
by the master key (timebank/sealing.py). Erasing a volunteer overwrites the key and keeps
the row, with the moment, so that no key is made for them again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tb_data_keys",
        sa.Column("subject_id", sa.Text, primary_key=True),  # the volunteer's id
        sa.Column("wrapped", sa.Text, nullable=True),  # base64 nonce + sealed key; NULL: erased
        sa.Column("created_at", sa.Text, nullable=False),  # UTC ISO text
        sa.Column("destroyed_at", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("tb_data_keys")
