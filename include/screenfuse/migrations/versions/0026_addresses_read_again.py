"""Addresses as this release reads them (docs/feeds.md, address): a number written in Chinese
characters before a unit word in digits (二十七栋 → 27栋, 四组 → 4组), a village's 村民小组, 小组
or 队 its 组; a county (县) and a town (镇, 乡) dropped from the front like a district; a village's
group and door number its home. Stored records are read again with these rules, a chunk at a
time, and only what changed is written: `source_record.address`, the matching columns `address`,
`address_area` and `address_home` of `match_record`, and, where the area changed, the record's
key of the blocking rule on name and area (`match_key`), so a new record of the same village meets
the stored ones."""
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

CHUNK = 200_000


def upgrade() -> None:
    read_addresses_again(op.get_bind())


def read_addresses_again(conn, chunk: int = CHUNK) -> int:
    """Re-derive every stored record's address columns; returns how many records changed."""
    import sqlalchemy as sa

    from screenfuse import match_state, warehouse
    from screenfuse import addresses
    from screenfuse.resolve import SETTINGS

    rule = [i for i, r in enumerate(SETTINGS.blocking) if [p.column for p in r] == ["name_pinyin", "address_area"]]
    changed, last = 0, ""
    while True:
        rows = warehouse.query_frame(conn, """
            SELECT s.source_record_id AS record_id, COALESCE(s.address, '') AS stored, m.name_pinyin,
                   COALESCE(m.address, '') AS address, COALESCE(m.address_area, '') AS address_area,
                   COALESCE(m.address_home, '') AS address_home
            FROM source_record s JOIN match_record m ON m.record_id = s.source_record_id
            WHERE s.source_record_id > :last ORDER BY s.source_record_id LIMIT :n""", last=last, n=chunk)
        if rows.empty:
            return changed
        last = str(rows["record_id"].iloc[-1])
        again = addresses.normalize_addresses(rows["stored"].astype(object))
        parts = addresses.address_parts(again)
        moved = again.to_numpy() != rows["stored"].to_numpy()
        if moved.any():
            conn.execute(sa.text("UPDATE source_record SET address = :a WHERE source_record_id = :r"),
                         [{"a": a, "r": r} for a, r in zip(again[moved], rows["record_id"][moved])])
        differs = (parts.to_numpy() != rows[addresses.ADDRESS_PARTS].to_numpy()).any(axis=1)
        if differs.any():
            new = rows.loc[differs, ["record_id", "name_pinyin"]].join(parts.loc[differs])
            conn.execute(sa.text("UPDATE match_record SET address = :address, address_area = :address_area, "
                                 "address_home = :address_home WHERE record_id = :record_id"),
                         new[["record_id", *addresses.ADDRESS_PARTS]].to_dict("records"))
            area = new["address_area"].to_numpy() != rows.loc[differs, "address_area"].to_numpy()
            if area.any():  # the record's key of the rule on name and area: the old one out, the new one in
                old_keys = match_state.block_keys(rows.loc[differs].loc[area], SETTINGS, only_rules=rule)
                if len(old_keys):  # by the table's key, one row at a time: few records (villages) change
                    conn.execute(sa.text("DELETE FROM match_key WHERE block_key = :k AND record_id = :r"),
                                 [{"k": int(k), "r": r} for k, r in zip(old_keys["block_key"], old_keys["record_id"])])
                new_keys = match_state.block_keys(new[area], SETTINGS, only_rules=rule)
                warehouse.bulk_insert(conn, "match_key", new_keys[["block_key", "record_id"]])
        changed += int((moved | differs).sum())


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
