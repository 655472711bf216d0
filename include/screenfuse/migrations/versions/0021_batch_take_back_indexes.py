"""Indexes for taking a batch back and for retention. Re-running an hour (an Airflow clear) first
takes its batch back (sql/publish/delete_batch.sql, batch_rows.undo_batch), and the daily
retention blanks answers older than its cutoff, both under the publish lock: without these each
read person_status, push_feedback, match_cannot_link and screening_outcome whole (a row per
screened person at district scale), and every hourly run waited behind them
(tests/test_hourly_reads.py)."""
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_person_status_batch", "person_status", ["batch_id"])
    op.create_index("ix_person_status_closed_batch", "person_status", ["closed_batch_id"])
    op.create_index("ix_push_feedback_batch", "push_feedback", ["batch_id"])
    op.create_index("ix_match_cannot_link_batch", "match_cannot_link", ["batch_id"])
    op.create_index("ix_screening_outcome_batch", "screening_outcome", ["batch_id"])


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
