"""Isolation points (issue 9): `isolation_point`, the points list (one row per point, the latest row
of the reference feed isolation_point replaces the stored one; a re-run restores it from
batch_undo), and `isolation_missed_check`, one row per person held at a point and day whose daily
check (feed isolation_monitoring) was missing when the day's deadline passed, indexed by person
(the hourly run reads the recorded misses of the persons in focus), by point and day (occupancy)
and by batch (a re-run takes its rows back). Views: v_isolation_occupancy, v_isolation_missed_checks
(sql/views.sql); v_whereabouts_by_day puts a person held at a point at 隔离点."""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "isolation_point",
        sa.Column("point_name", sa.Text, primary_key=True),  # as the monitoring feed's 隔离点 names it
        sa.Column("street", sa.Text),  # 所属街道: the list a missed check is pushed to
        sa.Column("address", sa.Text),
        sa.Column("rooms", sa.Integer),
        sa.Column("takes", sa.Text),  # categories of people it takes, joined by 、
        sa.Column("state", sa.Text),  # 启用 | 停用
        sa.Column("updated_at", sa.Text),  # the row's 更新时间 (local, as sent)
        sa.Column("source_record_id", sa.Text),  # the row of the points list it came from
        sa.Column("file_name", sa.Text),
        sa.Column("batch_id", sa.Text, nullable=False))  # the batch that last wrote the row
    op.create_index("ix_isolation_point_batch", "isolation_point", ["batch_id"])
    op.create_table(
        "isolation_missed_check",
        sa.Column("check_key", sa.Text, primary_key=True),  # person_id|point|day
        sa.Column("person_id", sa.Text, nullable=False),
        sa.Column("point", sa.Text, nullable=False),
        sa.Column("room", sa.Text),
        sa.Column("street", sa.Text),  # the point's street (区级清单 for a point not on the list)
        sa.Column("check_day", sa.Text, nullable=False),  # the local day without a check, YYYY-MM-DD
        sa.Column("deadline_at", sa.Text, nullable=False),  # when it was due (UTC)
        sa.Column("batch_id", sa.Text, nullable=False))  # the run that found it (the hour the deadline passed)
    op.create_index("ix_isolation_missed_person", "isolation_missed_check", ["person_id"])
    op.create_index("ix_isolation_missed_point_day", "isolation_missed_check", ["point", "check_day"])
    op.create_index("ix_isolation_missed_batch", "isolation_missed_check", ["batch_id"])


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
