"""Retention (issue 12): `person.retired_at`, when a person's personal data was removed (the
policy's `retention.days_after_last_measure` after its last change without a measure), with the
index the daily retention reads by; `retention_run`, what each retention removed (counts only)."""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("person", sa.Column("retired_at", sa.Text))
    op.create_index("ix_person_retention", "person", ["retired_at", "as_of"])
    op.create_table(
        "retention_run",
        sa.Column("run_id", sa.Text, primary_key=True),  # the time it ran (UTC ISO) / a random suffix
        sa.Column("cutoff", sa.Text, nullable=False),  # data older than this (UTC ISO) was removed
        sa.Column("days", sa.Float, nullable=False),
        sa.Column("persons", sa.Integer), sa.Column("source_records", sa.Integer),
        sa.Column("match_records", sa.Integer), sa.Column("match_keys", sa.Integer),
        sa.Column("quarantine_rows", sa.Integer), sa.Column("answer_rows", sa.Integer), sa.Column("lab_rows", sa.Integer),
        sa.Column("undo_rows", sa.Integer), sa.Column("stage_rows", sa.Integer),
        sa.Column("landing_files", sa.Integer), sa.Column("folders", sa.Integer))


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
