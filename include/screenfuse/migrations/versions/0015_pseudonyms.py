"""The analytics layer (issue 12): each person's keyed pseudonyms of its ID number and phone
(HMAC-SHA-256, screenfuse.pseudonyms) and age band, written with the person by the hourly run;
the analytics views (sql/analytics.sql) show these instead of the identifiers. Persons stored
before get them when next rewritten, or all at once with `screenfuse db rekey`."""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("person", sa.Column("id_pseudonym", sa.Text))
    op.add_column("person", sa.Column("phone_pseudonym", sa.Text))
    op.add_column("person", sa.Column("age_band", sa.Text))


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
