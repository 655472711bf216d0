"""The warehouse tables that hold a run's working state (not for BI): what tasks hand each other
(`batch_stage`), the files each batch takes (`batch_manifest`), the matching state kept with the
records so an hour never re-normalizes history (`match_record`, `match_key`, `match_term`), and
the before-images a batch keeps so that re-running it restores the state it started from
(`batch_undo`).

The tables are created by migration 0002 (`screenfuse db upgrade`); these Core definitions are
what the code reads and writes them with.
"""
from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
Text, Int, Big = sa.Text, sa.Integer, sa.BigInteger

batch_stage = sa.Table(
    "batch_stage", metadata,
    sa.Column("batch_id", Text, primary_key=True),
    sa.Column("name", Text, primary_key=True),  # e.g. police.accepted, persons
    sa.Column("part", Int, primary_key=True),  # a large frame is stored in several parts
    sa.Column("row_count", Int, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),  # Arrow IPC bytes (or JSON text encoded)
)

batch_manifest = sa.Table(
    "batch_manifest", metadata,
    sa.Column("batch_id", Text, primary_key=True),
    sa.Column("feed", Text, primary_key=True),
    sa.Column("file_name", Text, primary_key=True),
    sa.Column("file_size", Big, nullable=False),
    sa.Column("file_mtime_ns", Big, nullable=False),
    sa.Column("file_sha256", Text, nullable=False),
)
sa.Index("ix_batch_manifest_file", batch_manifest.c.feed, batch_manifest.c.file_name)

# the matching columns of every accepted record, as the engine's prepare() made them
MATCH_COLUMNS = ["name", "name_pinyin", "id_number", "id_trusted", "birth_date", "sex", "phone", "phone2",
                 "address", "address_area", "address_home", "document"]  # document: revision 0006
match_record = sa.Table(
    "match_record", metadata,
    sa.Column("record_id", Text, primary_key=True),
    sa.Column("batch_id", Text, nullable=False),
    *[sa.Column(c, Text) for c in MATCH_COLUMNS],
    sqlite_with_rowid=False,  # the rows in the key's tree (revision 0032): a look-up goes down one tree
)
sa.Index("ix_match_record_batch", match_record.c.batch_id)

# one row per record and blocking rule with a key: a 64-bit hash of the rule and its key values;
# the key is the table (WITHOUT ROWID on SQLite, migration 0013): no batch column, no other index
match_key = sa.Table(
    "match_key", metadata,
    sa.Column("block_key", Big, primary_key=True),
    sa.Column("record_id", Text, primary_key=True),
    sqlite_with_rowid=False,
)

# the keys of recent batches, the same shape: an hour's keys land on a few pages here, not on
# every page of match_key; folded into match_key when full (match_state.key_table, revision 0029)
match_key_recent = sa.Table(
    "match_key_recent", metadata,
    sa.Column("block_key", Big, primary_key=True),
    sa.Column("record_id", Text, primary_key=True),
    sqlite_with_rowid=False,
)

# how many records hold each value of a term-frequency column: term_key is "<column>\t<value>";
# "<column>\t" (no value) counts the records with any value
match_term = sa.Table(
    "match_term", metadata,
    sa.Column("term_key", Text, primary_key=True),
    sa.Column("n", Big, nullable=False),
    sa.Column("batch_id", Text, nullable=False),  # the batch that last changed the count
)

batch_undo = sa.Table(
    "batch_undo", metadata,
    sa.Column("batch_id", Text, nullable=False),
    sa.Column("table_name", Text, nullable=False),
    sa.Column("row_key", Text, nullable=False),  # the row's key, JSON list
    sa.Column("row_json", Text),  # the row before the batch; NULL: the batch created it
)
sa.Index("ix_batch_undo_batch", batch_undo.c.batch_id, batch_undo.c.table_name)
