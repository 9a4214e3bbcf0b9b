"""The log as a Merkle tree (RFC 9162): every complete subtree's hash, the log position of
each leaf, the tree's size and root as far as it has been built, and the signed
checkpoints. Built from the log by the tree builder (timebank/logtree.py), never on the write
path.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tb_log_nodes",  # level L, index i: the hash of leaves [i * 2**L, (i + 1) * 2**L)
        sa.Column("level", sa.Integer, primary_key=True),
        sa.Column("node_index", sa.BigInteger, primary_key=True),
        sa.Column("hash", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "tb_log_leaves",  # leaf index (from 0) and the log position of its event
        sa.Column("leaf_index", sa.BigInteger, primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False, unique=True),
    )
    tree = op.create_table(
        "tb_log_tree",  # one row: how far the tree is built
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("tree_size", sa.BigInteger, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary, nullable=False),
    )
    # The empty tree, so that the first batch, too, locks a row that exists.
    empty_root = hashlib.sha256(b"").digest()
    op.bulk_insert(tree, [{"name": "log", "tree_size": 0, "position": 0, "root": empty_root}])
    op.create_table(
        "tb_log_checkpoints",
        sa.Column("tree_size", sa.BigInteger, primary_key=True),
        sa.Column("root", sa.LargeBinary, nullable=False),
        sa.Column("note", sa.Text, nullable=False),  # the signed note, as served
        sa.Column("signed_at", sa.Text, nullable=False),  # UTC ISO text
    )


def downgrade() -> None:
    for table in ("tb_log_checkpoints", "tb_log_tree", "tb_log_leaves", "tb_log_nodes"):
        op.drop_table(table)
