"""What each run's blocking did (`run_log.match_blocking`, JSON): per rule of the matching
settings, the candidate pairs estimated from key counts, the key a rule's large blocks were split
by and the estimate after, the blocks left out, the pairs it proposed; and which comparisons
counted as household context and why. Counts and column names only, no person's data. Runs
published before this revision have none."""
import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("run_log", sa.Column("match_blocking", sa.Text))


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
