"""A person's records taken after a terminal status (死亡), kept for data-quality review
(person.after_terminal; docs/policy.md, terminal)."""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("person", sa.Column("after_terminal", sa.Text))


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
