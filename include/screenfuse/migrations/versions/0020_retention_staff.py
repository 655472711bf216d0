"""Retention also removes the names of the staff who answered, decided or revoked (核查人, 复核人)
and the free-text notes and reasons beside them, from rows older than the cutoff: they are
personal data too, and a note may describe the person checked. `retention_run.staff_rows`
counts the rows it changed."""
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("retention_run", sa.Column("staff_rows", sa.Integer))


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
