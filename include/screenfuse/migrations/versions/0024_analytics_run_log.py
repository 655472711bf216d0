"""The analytics layer's `run_log` shows what each run linked and with which model:
`links_changed` (revision 0023) and `match_model`, `match_model_reason`, `match_prior`,
`match_population` (revision 0012); none of them is about a person. No table changes: every
upgrade drops and recreates the views (sql/analytics.sql), and this revision makes a warehouse
already at 0023 take that upgrade before its next run."""

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # the views are recreated after the revisions (screenfuse.schema.upgrade)


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
