"""Mass nucleic-acid screening (全员核酸筛查): the samples as registered at the sampling points,
the labs' results for tubes and pools, and each sample's joined outcome (docs/feeds.md)."""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    text = lambda name, **kw: sa.Column(name, sa.Text, **kw)  # noqa: E731
    op.create_table(
        "screening_sample", text("source_record_id", primary_key=True), text("batch_id", nullable=False),
        text("sample_id"), text("pool_id"), text("sampling_point"), text("sampled_at"), text("inline_result"),
        text("inline_result_time"))
    op.create_index("ix_screening_sample_tube", "screening_sample", ["sample_id"])
    op.create_index("ix_screening_sample_pool", "screening_sample", ["pool_id"])
    op.create_index("ix_screening_sample_time", "screening_sample", ["sampled_at"])
    op.create_index("ix_screening_sample_batch", "screening_sample", ["batch_id"])
    op.create_table(
        "screening_result", text("result_id", primary_key=True), text("batch_id", nullable=False),
        text("feed", nullable=False), text("file_name", nullable=False), text("file_sha256", nullable=False),
        sa.Column("row_number", sa.Integer, nullable=False), text("lab"), text("sample_id"), text("pool_id"),
        text("result", nullable=False), text("result_time"), text("sampled_at"), text("raw_json"))
    op.create_index("ix_screening_result_tube", "screening_result", ["sample_id"])
    op.create_index("ix_screening_result_pool", "screening_result", ["pool_id"])
    op.create_index("ix_screening_result_batch", "screening_result", ["batch_id"])
    flag = lambda name: sa.Column(name, sa.Integer)  # noqa: E731
    op.create_table(
        "screening_outcome", text("source_record_id", primary_key=True), text("person_id"),
        text("batch_id", nullable=False), text("as_of"), text("sample_id"), text("pool_id"),
        text("screening_result"), text("screening_result_time"), text("screening_scope"), text("pool_result"),
        text("pool_result_time"), flag("individual_positive"), flag("pool_positive"), flag("awaiting_result"),
        sa.Column("hours_waited", sa.Float), flag("result_overdue"), flag("result_conflict"), text("superseded_by"))
    op.create_index("ix_screening_outcome_person", "screening_outcome", ["person_id"])


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
