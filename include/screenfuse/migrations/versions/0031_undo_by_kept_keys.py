"""A batch is taken back by the keys it kept, not by an index on the batch that last wrote a row
(issue 8, growth). `person`, `match_term` and `screening_outcome` had such an index; every row an
hour updated moved in it, away from the entries of the batch that wrote it before, at a random
place of a tree of millions: 8,000 of the 47,450 pages an hour of 10,000 records wrote at
3,000,000 records, for an index read only when an operator re-runs a batch. A publish now keeps
the key of each row it creates in `batch_undo` (beside the before-images of the rows it changes),
or marks a table that was empty before it (`#empty`); `batch_rows.undo_batch` reads them.

The batch that can be taken back now (the latest, if its before-images are kept) gets its keys
here, found through the indexes before they go."""
import pandas as pd
import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

# the tables a batch is taken back from, as 0031 found them: table → (key, batch column)
TABLES = {"person": ("person_id", "batch_id"), "person_link": ("source_record_id", "changed_batch_id"),
          "match_term": ("term_key", "batch_id"), "screening_outcome": ("source_record_id", "batch_id"),
          "zero_report_check": ("check_key", "changed_batch_id"), "contact_edge": ("source_record_id", "batch_id"),
          "isolation_point": ("point_name", "batch_id")}
DROPPED = {"ix_person_batch": "person", "ix_match_term_batch": "match_term",
           "ix_screening_outcome_batch": "screening_outcome"}


def upgrade() -> None:
    keep_created_keys(op.get_bind())
    for index, table in DROPPED.items():
        op.drop_index(index, table_name=table)


def keep_created_keys(conn) -> None:
    """The keys of the rows the batch that can be taken back created (or its `#empty` marks), in
    `batch_undo`, as a publish at this revision keeps them."""
    from screenfuse import warehouse

    latest = conn.exec_driver_sql("SELECT batch_id FROM batch_undo WHERE table_name = '#batch'").scalar()
    if latest is not None:
        for table, (key, column) in TABLES.items():
            if conn.execute(sa.text(f"SELECT 1 FROM {table} WHERE {column} = :b LIMIT 1"), {"b": latest}).first() is None:
                continue  # the batch wrote no row here
            older = conn.execute(sa.text(f"SELECT 1 FROM {table} WHERE {column} <> :b LIMIT 1"), {"b": latest}).first()
            imaged = set(warehouse.query_frame(conn, "SELECT row_key FROM batch_undo WHERE batch_id = :b "
                                                     "AND table_name = :t", b=latest, t=table)["row_key"])
            if older is None and not imaged:  # every row is the batch's: it found the table empty
                rows = pd.DataFrame([{"batch_id": latest, "table_name": "#empty", "row_key": table, "row_json": None}])
            else:  # a first load's millions are not read: its tables get the mark above
                written = warehouse.query_frame(conn, f"SELECT {key} FROM {table} WHERE {column} = :b", b=latest)[key]
                created = written.astype(str)
                created = created[~created.isin(imaged)]
                rows = pd.DataFrame({"batch_id": latest, "table_name": table, "row_key": created.to_numpy(),
                                     "row_json": None})
            warehouse.bulk_insert(conn, "batch_undo", rows)


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
