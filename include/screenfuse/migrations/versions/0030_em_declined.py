"""How many records EM last ran on when its checks turned it down (issue 8, growth): on a
mass-screening district no model is stored (matching/anchors.py: EM's matches are not persons, or
too few), and each hour tried EM again on its own records, a cost that bought nothing.
`run_log.em_declined_records` says on how many records EM was turned down (the count is carried by
each run that relies on it); an hour with no more new records than that takes the preset's shipped
model without trying EM."""
import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("run_log", sa.Column("em_declined_records", sa.BigInteger))  # NULL: EM not turned down


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
