"""A model that learns (issue 10): `match_label`, the one place labelled record pairs live (same /
different, from 非本人 answers, review decisions, police tracing), filled from the answers by the
publish stage and read by the retraining; `match_model` gains a version, the candidate's metrics
(JSON), whether it was promoted and by whom (the hourly run uses the latest promoted model), and
`match_relink`, the records a promotion re-links (the next hourly run resolves them again under
the new model, recording merges and splits). Earlier models become version 1.. in model_id order,
promoted by `hourly` (they were trained and used by the hourly run); the cannot-link pairs stored
before become `different` labels (非本人 answers: source `answer`; any other decision: `review`)."""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "match_label",
        sa.Column("left_record_id", sa.Text, primary_key=True),  # the smaller record id
        sa.Column("right_record_id", sa.Text, primary_key=True),
        sa.Column("source", sa.Text, primary_key=True),  # answer | review | tracing
        sa.Column("label", sa.Text, nullable=False),  # same | different
        sa.Column("batch_id", sa.Text),  # the run that stored it (a re-run takes it back)
        sa.Column("labelled_at", sa.Text),  # when the decision was made (UTC ISO)
        sa.Column("reference", sa.Text))  # what decided it: the push item answered, the review item
    op.create_index("ix_match_label_batch", "match_label", ["batch_id"])
    op.add_column("match_model", sa.Column("version", sa.Integer))
    op.add_column("match_model", sa.Column("created_at", sa.Text))
    op.add_column("match_model", sa.Column("promoted", sa.Integer))  # 1: the hourly run may use it
    op.add_column("match_model", sa.Column("promoted_by", sa.Text))  # hourly | screenfuse_retrain | cli:<user>
    op.add_column("match_model", sa.Column("promoted_at", sa.Text))
    op.add_column("match_model", sa.Column("metrics_json", sa.Text))  # current vs candidate on the labels
    conn = op.get_bind()
    ids = [row[0] for row in conn.execute(sa.text("SELECT model_id FROM match_model ORDER BY model_id"))]
    for version, model_id in enumerate(ids, start=1):
        conn.execute(sa.text("UPDATE match_model SET version = :v, promoted = 1, promoted_by = 'hourly' "
                             "WHERE model_id = :m"), {"v": version, "m": model_id})
    op.create_index("ix_match_model_promoted", "match_model", ["promoted", "version"])
    op.create_table(
        "match_relink",
        sa.Column("model_id", sa.Text, primary_key=True),  # the promoted model
        sa.Column("record_id", sa.Text, primary_key=True))  # a record in a pair the models decide differently
    conn.execute(sa.text("""INSERT INTO match_label (left_record_id, right_record_id, source, label, batch_id, reference)
        SELECT left_record_id, right_record_id, CASE source WHEN 'feedback' THEN 'answer' ELSE 'review' END,
               'different', batch_id, push_item_id
        FROM match_cannot_link"""))


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
