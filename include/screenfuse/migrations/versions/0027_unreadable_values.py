"""Optional dates a row gave that could not be read (source_record.unreadable: the fields' names,
comma-separated; view v_unreadable_values). The row is kept, the value as sent stays in raw_json.
Rows of earlier releases have none recorded (NULL)."""
import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("source_record", sa.Column("unreadable", sa.Text))


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
