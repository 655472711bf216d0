"""Indexes for what an hourly run reads by batch: the lists a batch pushes (items it escalated or
rerouted away), its police tracing list and its zero-report checks. Without them each run read
those tables whole (tests/test_hourly_reads.py)."""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_push_item_escalated_batch", "push_item", ["escalated_batch_id"])
    op.create_index("ix_push_item_closed_batch", "push_item", ["closed_batch_id"])
    op.create_index("ix_police_tracing_batch", "police_tracing", ["batch_id"])
    op.create_index("ix_zero_report_check_batch", "zero_report_check", ["batch_id"])


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
