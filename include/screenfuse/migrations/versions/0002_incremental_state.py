"""Incremental state: what tasks hand each other (batch_stage), the files each batch takes
(batch_manifest), the matching state kept with the records (match_record, match_key, match_term),
before-images for re-running the latest batch (batch_undo), when a person must be fused again
on its own (person.next_change_at), and the indexes hourly runs read by. See docs/hourly.md."""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MATCH_COLUMNS = ["name", "name_pinyin", "id_number", "id_trusted", "birth_date", "sex", "phone", "phone2",
                 "address", "address_area", "address_home"]


def upgrade() -> None:
    op.create_table(
        "batch_stage",
        sa.Column("batch_id", sa.Text, primary_key=True), sa.Column("name", sa.Text, primary_key=True),
        sa.Column("part", sa.Integer, primary_key=True), sa.Column("row_count", sa.Integer, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False))
    op.create_table(
        "batch_manifest",
        sa.Column("batch_id", sa.Text, primary_key=True), sa.Column("feed", sa.Text, primary_key=True),
        sa.Column("file_name", sa.Text, primary_key=True), sa.Column("file_size", sa.BigInteger, nullable=False),
        sa.Column("file_mtime_ns", sa.BigInteger, nullable=False), sa.Column("file_sha256", sa.Text, nullable=False))
    op.create_index("ix_batch_manifest_file", "batch_manifest", ["feed", "file_name"])
    op.create_table(
        "match_record",
        sa.Column("record_id", sa.Text, primary_key=True), sa.Column("batch_id", sa.Text, nullable=False),
        *[sa.Column(c, sa.Text) for c in MATCH_COLUMNS])
    op.create_index("ix_match_record_batch", "match_record", ["batch_id"])
    op.create_table(
        "match_key",
        sa.Column("block_key", sa.BigInteger, nullable=False), sa.Column("record_id", sa.Text, nullable=False),
        sa.Column("batch_id", sa.Text, nullable=False))
    op.create_index("ix_match_key_key", "match_key", ["block_key"])
    op.create_index("ix_match_key_batch", "match_key", ["batch_id"])
    op.create_table(
        "match_term",
        sa.Column("term_key", sa.Text, primary_key=True), sa.Column("n", sa.BigInteger, nullable=False),
        sa.Column("batch_id", sa.Text, nullable=False))
    op.create_table(
        "batch_undo",
        sa.Column("batch_id", sa.Text, nullable=False), sa.Column("table_name", sa.Text, nullable=False),
        sa.Column("row_key", sa.Text, nullable=False), sa.Column("row_json", sa.Text))
    op.create_index("ix_batch_undo_batch", "batch_undo", ["batch_id", "table_name"])
    op.add_column("person", sa.Column("next_change_at", sa.Text))
    op.create_index("ix_person_next_change", "person", ["next_change_at"])
    op.create_index("ix_push_item_due", "push_item", ["state", "due_at"])
    op.create_index("ix_push_item_batch", "push_item", ["batch_id"])
    op.create_index("ix_match_cannot_link_right", "match_cannot_link", ["right_record_id"])
    op.create_index("ix_unit_delivery_day", "unit_delivery", ["feed", "report_day"])
    # what taking back the latest batch deletes by (its own rows)
    op.create_index("ix_person_batch", "person", ["batch_id"])
    op.create_index("ix_person_link_changed", "person_link", ["changed_batch_id"])
    op.create_index("ix_match_term_batch", "match_term", ["batch_id"])
    _backfill(op.get_bind())


def _backfill(conn) -> None:
    """A warehouse that already holds records gets their matching state, so the next hour finds
    its neighbours; every person with a status is fused again by the next run (next_change_at in
    the past), which sets when each must be looked at again. Uses the matching code of this
    release (one pass over the records, in chunks)."""
    import pandas as pd

    from screenfuse import match_state, warehouse
    from screenfuse.resolve import SETTINGS, prepare_records

    columns = "source_record_id, batch_id, name, id_number, phone, phone2, birth_date, sex, address"
    terms = []
    offset, chunk = 0, 200_000
    while True:
        rows = warehouse.query_frame(conn, f"SELECT {columns} FROM source_record ORDER BY source_record_id "
                                           f"LIMIT {chunk} OFFSET {offset}")
        if rows.empty:
            break
        prepared = prepare_records(rows)
        # the columns of this revision's table (later revisions add theirs and backfill them)
        warehouse.bulk_insert(conn, "match_record", prepared[["record_id", *MATCH_COLUMNS]].assign(
            batch_id=rows["batch_id"].to_numpy()))
        keys = match_state.block_keys(prepared, SETTINGS)
        batch_of = dict(zip(rows["source_record_id"], rows["batch_id"]))
        warehouse.bulk_insert(conn, "match_key", keys.assign(batch_id=keys["record_id"].map(batch_of)))
        terms.append(match_state.term_counts(prepared, SETTINGS))
        offset += chunk
    if terms:
        counts = pd.concat(terms).groupby("term_key", as_index=False)["n"].sum()
        # not a batch's own rows: taking back the latest batch restores them, never deletes them
        warehouse.bulk_insert(conn, "match_term", counts.assign(batch_id="backfill"))
        conn.exec_driver_sql("UPDATE person SET next_change_at = '1970-01-01T00:00:00Z' WHERE status <> 'none'")


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
