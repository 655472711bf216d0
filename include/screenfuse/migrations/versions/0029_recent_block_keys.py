"""Block keys of recent batches in a small table of their own (issue 8, growth): `match_key` is
keyed by a 64-bit hash, so an hour's 75,000 keys land on nearly every page of a table that holds
25 million keys at 3,000,000 records, and the commit writes all those pages. An hour's keys now go
to `match_key_recent` (same shape), which is folded into `match_key` when it holds
`match_state.RECENT_KEYS_FOLD` keys: the large table's pages are written once a fold, not every
hour. Readers take the two together (screenfuse.match_state). `run_log.recent_keys` counts the
keys each run left in the recent table, as counted at publish, so no run reads the table to count
them."""
import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    without_rowid = " WITHOUT ROWID" if op.get_bind().dialect.name == "sqlite" else ""
    op.execute("CREATE TABLE match_key_recent (block_key BIGINT NOT NULL, record_id TEXT NOT NULL, "
               f"PRIMARY KEY (block_key, record_id)){without_rowid}")
    op.add_column("run_log", sa.Column("recent_keys", sa.BigInteger))


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
