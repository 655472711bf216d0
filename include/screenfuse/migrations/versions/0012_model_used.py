"""Which matching model each run used, why, and the prior it scored pairs with (issue 10): a
stored model is population-free (m and u per level, the other records of the same person per
record) and each run computes its prior for the warehouse's size, so the prior is the run's.
run_log.match_model: the batch that trained the model (this batch, when it trained one) or
`shipped:<preset>` (too few records to learn from: the preset's shipped model, never stored)."""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("run_log", sa.Column("match_model", sa.Text))  # NULL: a run of an earlier release
    op.add_column("run_log", sa.Column("match_model_reason", sa.Text))
    op.add_column("run_log", sa.Column("match_prior", sa.Float))  # for match_population records
    op.add_column("run_log", sa.Column("match_population", sa.BigInteger))


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
