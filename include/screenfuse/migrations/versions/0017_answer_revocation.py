"""Revoking a 非本人 answer (issue 12): `answer_revocation`, one row per push item whose 非本人
answer the district revoked, with who, when and why, the record pairs it freed, and the hourly
run that resolved those records again (`applied_batch_id`, NULL until then)."""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "answer_revocation",
        sa.Column("push_item_id", sa.Text, primary_key=True),
        sa.Column("revoked_at", sa.Text, nullable=False),  # UTC ISO
        sa.Column("revoked_by", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("pairs", sa.Integer, nullable=False),  # cannot-link pairs removed (and their labels)
        sa.Column("record_ids", sa.Text, nullable=False),  # the pairs' records, ';'-separated: resolved again
        sa.Column("applied_batch_id", sa.Text))
    op.create_index("ix_answer_revocation_applied", "answer_revocation", ["applied_batch_id"])
    op.create_index("ix_match_cannot_link_item", "match_cannot_link", ["push_item_id"])


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
