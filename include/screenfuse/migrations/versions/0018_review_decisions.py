"""The review desk (issue 13): `match_decision`, one row per record pair a person decided at the
review desk (`same` / `different`), from `screenfuse review decide` (source `cli`, applied by the
next hourly run) or from a filled-in 复核清单 dropped into `landing/review/` (source `file`, stored
by the run that read it). A pair is decided once (unique); `applied_batch_id` is the run that
acted on it (NULL until then), `outcome` what it did (a `same` the clustering must refuse, e.g.
two different valid ID numbers, says so). Also the indexes the run report reads by (answers per
batch, silent units per batch)."""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "match_decision",
        sa.Column("decision_id", sa.Text, primary_key=True),
        sa.Column("review_id", sa.Text, nullable=False),  # the match_review item decided
        sa.Column("left_record_id", sa.Text, nullable=False),  # the review item's pair
        sa.Column("right_record_id", sa.Text, nullable=False),
        sa.Column("decision", sa.Text, nullable=False),  # same | different
        sa.Column("decided_by", sa.Text, nullable=False),
        sa.Column("decided_at", sa.Text, nullable=False),  # UTC ISO
        sa.Column("note", sa.Text),
        sa.Column("source", sa.Text, nullable=False),  # cli | file
        sa.Column("batch_id", sa.Text),  # file: the run that read the answer file (a re-run takes it back)
        sa.Column("applied_batch_id", sa.Text),
        sa.Column("outcome", sa.Text))  # what the run that applied it did: joined | kept apart | refused (why)
    op.create_index("ux_match_decision_pair", "match_decision", ["left_record_id", "right_record_id"], unique=True)
    op.create_index("ix_match_decision_right", "match_decision", ["right_record_id"])
    op.create_index("ix_match_decision_applied", "match_decision", ["applied_batch_id"])
    op.create_index("ix_match_decision_batch", "match_decision", ["batch_id"])
    op.create_index("ix_match_review_pair", "match_review", ["left_record_id", "right_record_id"])
    op.create_index("ix_match_review_right", "match_review", ["right_record_id"])
    # what the run report reads by batch (screenfuse.run_report): answers applied, silent units found
    op.create_index("ix_push_item_answered_batch", "push_item", ["answered_batch_id"])
    op.create_index("ix_silent_unit_batch", "silent_unit", ["batch_id"])


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
