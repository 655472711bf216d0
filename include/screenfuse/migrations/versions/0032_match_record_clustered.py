"""The matching rows kept in their key's tree (issue 8, growth). On SQLite `match_record` becomes
WITHOUT ROWID: a look-up by record id (an hour reads the stored records sharing a key with its
own, 96,000 of them at 3,000,000 records, and the records of the persons they belong to) went
down the key's index and then down the table; now it goes down one tree, whose leaves hold the
row. An hour at 3,000,000 records: resolve 0.5 s and the publish 1.2 s shorter (docs/benchmarks.md).
A first load writes no separate index of its million record ids. PostgreSQL keeps its heap and
key index (it has no such table); the revision changes nothing there."""
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

COLUMNS = ("record_id, batch_id, name, name_pinyin, id_number, id_trusted, birth_date, sex, phone, phone2, "
           "address, address_area, address_home, document")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # an upgrade that stopped during the copy (a full disk: it needs the table's size free) left
    # the new table, created outside the copy's transaction: made again
    op.execute("DROP TABLE IF EXISTS match_record_clustered")
    op.execute("CREATE TABLE match_record_clustered (record_id TEXT NOT NULL, batch_id TEXT NOT NULL, "
               "name TEXT, name_pinyin TEXT, id_number TEXT, id_trusted TEXT, birth_date TEXT, sex TEXT, "
               "phone TEXT, phone2 TEXT, address TEXT, address_area TEXT, address_home TEXT, document TEXT, "
               "PRIMARY KEY (record_id)) WITHOUT ROWID")
    # in key order: the rows go to the end of the tree, page after page
    op.execute(f"INSERT INTO match_record_clustered ({COLUMNS}) SELECT {COLUMNS} FROM match_record ORDER BY record_id")
    op.drop_index("ix_match_record_batch", table_name="match_record")
    op.drop_table("match_record")
    op.rename_table("match_record_clustered", "match_record")
    op.create_index("ix_match_record_batch", "match_record", ["batch_id"])


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
