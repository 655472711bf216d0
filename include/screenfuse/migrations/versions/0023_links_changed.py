"""How many links each run wrote (`run_log.links_changed`), counted at publish. The run report's
"links changed" figure of the last runs read it from `person_link` by `changed_batch_id`: an
index range holding every link a first load wrote, read again every hour (a million entries on
PostgreSQL, 0.1 s an hour). Earlier runs get the count `person_link` still holds for them: links a
later run rewrote count for that run instead."""
import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("run_log", sa.Column("links_changed", sa.BigInteger))
    op.get_bind().exec_driver_sql(
        "UPDATE run_log SET links_changed = (SELECT COUNT(*) FROM person_link l "
        "WHERE l.changed_batch_id = run_log.batch_id)")


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
