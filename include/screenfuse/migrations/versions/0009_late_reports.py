"""Late reports (迟报, docs/warehouse.md "Zero reporting"): when each unit's file arrived
(unit_delivery.arrived_at), the late units of each checked day (late_report), and the check row's
late count. A file that comes after its day was checked updates the day's row in the run that
takes it: the row gets a one-column key (check_key = 'YYYY-MM-DD|feed') and the run that last
changed it (changed_batch_id), so that taking that run back restores the row from batch_undo."""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("unit_delivery", sa.Column("arrived_at", sa.Text))  # UTC; NULL: unknown (counted on time)
    op.add_column("zero_report_check", sa.Column("late", sa.Integer, nullable=False, server_default="0"))
    op.add_column("zero_report_check", sa.Column("check_key", sa.Text))
    op.add_column("zero_report_check", sa.Column("changed_batch_id", sa.Text))
    op.execute("UPDATE zero_report_check SET check_key = report_day || '|' || feed, changed_batch_id = batch_id")
    op.create_index("ix_zero_report_check_key", "zero_report_check", ["check_key"], unique=True)
    op.create_index("ix_zero_report_check_changed", "zero_report_check", ["changed_batch_id"])
    op.create_table(
        "late_report",
        sa.Column("report_day", sa.Text, primary_key=True), sa.Column("feed", sa.Text, primary_key=True),
        sa.Column("unit_id", sa.Text, primary_key=True), sa.Column("unit_type", sa.Text, nullable=False),
        sa.Column("unit_name", sa.Text, nullable=False), sa.Column("street", sa.Text),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("arrived_at", sa.Text),  # UTC, when its first report for the day came
        sa.Column("after_check", sa.Integer, nullable=False),  # 1: came after the day was checked (was silent)
        sa.Column("batch_id", sa.Text, nullable=False))  # the run that recorded it late
    op.create_index("ix_late_report_batch", "late_report", ["batch_id"])


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
