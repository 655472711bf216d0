"""Identity documents other than the resident ID (docs/feeds.md, "Identity documents"): the
document type of each record's number (source_record.id_type), why a row's unusable ID number was
set aside (source_record.id_set_aside), and the document key matching compares and blocks on
(match_record.document). Records of earlier releases: a resident ID's type is set; a passport or
permit kept in details (id_status other_document) becomes the record's document, with its
matching key, so the next run links it."""
import json

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("source_record", sa.Column("id_type", sa.Text))
    op.add_column("source_record", sa.Column("id_set_aside", sa.Text))
    op.add_column("match_record", sa.Column("document", sa.Text))
    conn = op.get_bind()
    conn.exec_driver_sql("UPDATE source_record SET id_type = 'resident_id' "
                         "WHERE id_status IN ('valid', 'failed_check', 'converted_15')")
    _backfill_documents(conn)


def _backfill_documents(conn) -> None:
    """Passports and permits that earlier releases kept only in details_json (uses the matching
    code of this release; few rows: only mass screening had a 证件类型 column)."""
    import pandas as pd

    from screenfuse import documents, match_state, warehouse
    from screenfuse.resolve import SETTINGS, prepare_records

    rows = warehouse.query_frame(conn, "SELECT source_record_id, batch_id, name, phone, phone2, birth_date, sex, "
                                       "address, details_json FROM source_record WHERE id_status = 'other_document'")
    if rows.empty:
        return
    details = [json.loads(d or "{}") for d in rows["details_json"]]
    found = documents.normalize_documents(pd.Series([d.get("document_number", "") for d in details], dtype=object),
                                          pd.Series([d.get("id_type", "") or "其他证件" for d in details], dtype=object))
    found = found.set_axis(rows.index)
    update = sa.text("UPDATE source_record SET id_type = :t, id_number = :n, id_status = :s WHERE source_record_id = :r")
    conn.execute(update, [{"t": t, "n": n, "s": s if s == "document" else "other_document", "r": r} for t, n, s, r in
                          zip(found["id_type"], found["id_number"], found["id_status"], rows["source_record_id"])])
    prepared = prepare_records(rows.assign(id_type=found["id_type"], id_number=found["id_number"]))
    keys = prepared[prepared["document"] != ""]
    conn.execute(sa.text("UPDATE match_record SET document = :d WHERE record_id = :r"),
                 [{"d": d, "r": r} for d, r in zip(keys["document"], keys["record_id"])])
    rule = [i for i, r in enumerate(SETTINGS.blocking) if [p.column for p in r] == ["document"]]
    block = match_state.block_keys(keys, SETTINGS, only_rules=rule)  # the other rules' keys are stored
    batch_of = dict(zip(rows["source_record_id"], rows["batch_id"]))
    warehouse.bulk_insert(conn, "match_key", block.assign(batch_id=block["record_id"].map(batch_of)))


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
