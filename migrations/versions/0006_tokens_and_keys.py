"""- Every API token expires: `expires_at` (UTC ISO text). Tokens made before it had one get
  the default life of their role from the moment of the upgrade, not from when they were
  made, so that an upgrade does not lock the operators out.
- The revoked tokens are indexed: each process reads their count and the latest revocation
  about once a second to notice a revocation (timebank/tokens.py).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The defaults of timebank/settings.py when this was written (a migration does not read the
# deployment's settings).
DAYS = {"admin": 30, "coordinator": 180, "auditor": 180, "desk": 365, "volunteer": 365}


def upgrade() -> None:
    op.add_column("tb_tokens", sa.Column("expires_at", sa.Text, nullable=True))
    now = datetime.now(UTC)
    tokens = sa.table("tb_tokens", sa.column("role", sa.Text), sa.column("expires_at", sa.Text))
    for role, days in DAYS.items():
        op.execute(
            tokens.update()
            .where(tokens.c.role == role, tokens.c.expires_at.is_(None))
            .values(expires_at=(now + timedelta(days=days)).isoformat())
        )
    op.create_index(
        "tb_tokens_revoked",
        "tb_tokens",
        ["revoked_at"],
        postgresql_where=sa.text("revoked_at IS NOT NULL"),
        sqlite_where=sa.text("revoked_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("tb_tokens_revoked", "tb_tokens")
    with op.batch_alter_table("tb_tokens") as batch:
        batch.drop_column("expires_at")
