"""The blocking rule on surname and birth date (`name[:1]` + `birth_date`, the zh_person preset's
last rule): every stored record gets its key of that rule in `match_key`, so a new record whose
name lost its middle character (刘静 for 刘超静) meets the stored records of the full name. Read a
chunk of `match_record` at a time, in key order."""
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

CHUNK = 200_000
RULE = ["name", "birth_date"]  # the columns of the rule, as the preset writes it: name[:1], birth_date


def upgrade() -> None:
    add_surname_birth_keys(op.get_bind())


def add_surname_birth_keys(conn, chunk: int = CHUNK) -> int:
    """Insert each stored record's key of the rule (records with both values) that is not stored
    yet; returns how many were inserted."""
    from screenfuse import match_state, warehouse
    from screenfuse.resolve import SETTINGS

    rule = [i for i, r in enumerate(SETTINGS.blocking) if [p.column for p in r] == RULE]
    added, last = 0, ""
    while True:
        rows = warehouse.query_frame(conn, """
            SELECT record_id, COALESCE(name, '') AS name, COALESCE(birth_date, '') AS birth_date
            FROM match_record WHERE record_id > :last ORDER BY record_id LIMIT :n""", last=last, n=chunk)
        if rows.empty:
            return added
        last = str(rows["record_id"].iloc[-1])
        keys = match_state.block_keys(rows, SETTINGS, only_rules=rule)
        if keys.empty:
            continue
        # only the keys not stored: revision 0002 keyed the records of its time by every rule of
        # the release that upgrades them, this one's included
        warehouse.load_keys(conn, "k_surname_birth", keys[["block_key", "record_id"]])
        added += conn.exec_driver_sql(
            "INSERT INTO match_key (block_key, record_id) SELECT k.block_key, k.record_id FROM k_surname_birth k "
            "WHERE NOT EXISTS (SELECT 1 FROM match_key m WHERE m.block_key = k.block_key "
            "AND m.record_id = k.record_id)").rowcount or 0


def downgrade() -> None:
    raise NotImplementedError("the warehouse only moves forward: restore a backup to go back")
