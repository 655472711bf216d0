"""Baseline: the warehouse tables as they were when the schema moved to migrations (the former
sql/schema.sql, frozen in sql/migrations/0001_baseline.sql). Views are not migrated: every
upgrade drops and recreates them from sql/views.sql."""
from screenfuse.schema import run_sql_file

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("migrations/0001_baseline.sql")


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
