"""The matching state kept in the warehouse, so an hour reads only what its new records touch.

At ingest each accepted record's prepared matching columns go to `match_record`, one 64-bit key
per blocking rule to `match_key` (keyed by key and record; an hour's keys to `match_key_recent`
first, see `key_table`), and its term-frequency values are counted in `match_term`. A run then
finds, by indexed lookups, the records sharing a blocking key with a new record, every record of
their persons, and nothing else; term-frequency shares and the population size come from the
counts, not from reading every record.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from screenfuse import batch_rows, warehouse
from screenfuse.matching import MatchSettings, Population
from screenfuse.state_schema import MATCH_COLUMNS
from screenfuse.zh_person import spread_categorical

RECORDS_TERM = "#records"  # match_term row counting every record
# block keys `match_key_recent` holds before they are folded into `match_key`: an hour's keys
# then write a few pages of a small table, and the large table's pages are written once a fold
# (about every 14 hours of 10,000 records), not every hour; readers take the two together
RECENT_KEYS_FOLD = 1_000_000
KEY_TABLES = ("match_key", "match_key_recent")  # a migration that re-keys or backfills keys: both


def stored_keys(keys_table: str) -> str:
    """A subquery (block_key, record_id) of the stored keys, in both tables, whose key is in the
    temporary table `keys_table`: each table read by its index."""
    return " UNION ALL ".join(
        f"SELECT block_key, record_id FROM {t} WHERE block_key IN (SELECT block_key FROM {keys_table})" for t in KEY_TABLES)


def key_table(conn, keys: int, held: int, fold_at: int | None = None) -> tuple[str, int]:
    """Where a batch's `keys` block keys go, given the `held` keys `match_key_recent` holds (the
    latest run's count, run_log.recent_keys, which a take-back or retention may leave above what
    the table holds, never below): (table, keys it holds after). A batch of `fold_at` keys or more
    goes to `match_key` (it would touch every page anyway); a smaller one to `match_key_recent`,
    after that table was folded into `match_key` if it held `fold_at` keys (a batch without keys,
    an hour with no new file, never folds). Decided on what earlier batches stored: a re-run of
    the batch (its keys taken back from both tables, its run_log row gone) stores them where the
    first run did."""
    fold_at = RECENT_KEYS_FOLD if fold_at is None else fold_at
    if keys >= fold_at:
        return "match_key", held
    if held >= fold_at and keys:
        fold_recent_keys(conn)
        held = 0
    return "match_key_recent", held + keys


def fold_recent_keys(conn) -> int:
    """Move the keys of `match_key_recent` into `match_key` (in key order); returns how many."""
    moved = conn.exec_driver_sql("""INSERT INTO match_key (block_key, record_id)
        SELECT block_key, record_id FROM match_key_recent WHERE true ORDER BY block_key, record_id
        ON CONFLICT DO NOTHING""").rowcount
    conn.exec_driver_sql("DELETE FROM match_key_recent")
    return moved


def block_keys(prepared: pd.DataFrame, settings: MatchSettings, only_rules=None) -> pd.DataFrame:
    """(block_key, record_id): per record and blocking rule with every part present, a hash of
    the rule's number and its values (a collision only adds a candidate; the engine blocks
    exactly), so a rule is only ever added at the end. Sorted by key: inserted in index order, a
    large batch writes its keys twice as fast. `only_rules`: the numbers of the rules wanted.
    Each column is hashed once per distinct value (a million records: 2 s, not 13)."""
    parts: dict = {}
    distinct: dict = {}  # column → (codes, distinct values): a column of several parts is factorized once

    def part_hashes(part) -> tuple[np.ndarray, np.ndarray]:
        """(hash, present) per row of one rule part: the distinct values are sliced and hashed."""
        if (part.column, part.start, part.stop) not in parts:
            if part.column not in distinct:
                codes, uniques = pd.factorize(prepared[part.column], use_na_sentinel=False)
                distinct[part.column] = (codes, pa.array(np.asarray(uniques, dtype=object), type=pa.string(),
                                                         from_pandas=True).fill_null(""))
            codes, values = distinct[part.column]
            if part.start is not None or part.stop is not None:
                values = pc.utf8_slice_codeunits(values, part.start or 0, part.stop if part.stop is not None else 2**31)
            hashed = pd.util.hash_array(values.to_numpy(zero_copy_only=False), categorize=False)
            present = pc.not_equal(values, "").to_numpy(zero_copy_only=False)
            parts[(part.column, part.start, part.stop)] = (hashed[codes], present[codes])
        return parts[(part.column, part.start, part.stop)]

    keys, rows, rules = [], [], []
    for number, rule in enumerate(settings.blocking):
        if only_rules is not None and number not in only_rules:
            continue
        key = np.full(len(prepared), 0x9E3779B97F4A7C15 * (number + 1) % 2**64, dtype=np.uint64)
        present = np.ones(len(prepared), dtype=bool)
        for part in rule:
            hashed, has_value = part_hashes(part)
            present &= has_value
            with np.errstate(over="ignore"):
                key = key * np.uint64(1099511628211) ^ hashed
        keys.append(key[present].view(np.int64))
        rows.append(np.flatnonzero(present))
        rules.append(np.full(int(present.sum()), number, dtype=np.int16))
    if not keys:
        return pd.DataFrame(columns=["block_key", "record_id", "rule"])
    key, row, rule_of = np.concatenate(keys), np.concatenate(rows), np.concatenate(rules)
    order = np.argsort(key)
    # `rule` is not stored (match_key has no such column): `narrow_keys` reads it
    return pd.DataFrame({"block_key": key[order], "rule": rule_of[order], "record_id": _record_ids(prepared, row[order])},
                        columns=["block_key", "record_id", "rule"])


def _record_ids(prepared: pd.DataFrame, rows: np.ndarray) -> pd.Series:
    """The record id of each key (its record's row in `prepared`): a categorical over the records'
    ids, which Arrow stages as a dictionary and the writers turn into text a batch at a time. A
    first load's 8.5 million ids taken as text cost 2.5 to 5.4 s and about 0.3 GB."""
    return pd.Series(spread_categorical(prepared["record_id"].astype(str).to_numpy(dtype=object), rows))


def narrow_keys(keys: pd.DataFrame, prepared: pd.DataFrame, settings: MatchSettings) -> pd.Series:
    """Per key of `block_keys(prepared)`: its record's value of the settings' (first) distinct key
    when only stored records without a value, or with that same value, can join the record
    through the key; "" when the key is read whole. A stored record with another value can never
    join it (the distinct key keeps them apart). The distinct key's own rule is always read
    whole. At 3,000,000 records a new record's namesakes in its region and decade are most of
    what it would read, and nearly all hold a valid ID of their own."""
    if not settings.distinct_keys or keys.empty or "rule" not in keys.columns:
        return pd.Series("", index=keys.index, dtype=object)
    column = settings.distinct_keys[0]
    sources = {column, DISTINCT_SOURCE.get(column, column)}
    own = [n for n, rule in enumerate(settings.blocking)
           if len(rule) == 1 and rule[0].column in sources and rule[0].start is None and rule[0].stop is None]
    values = prepared[column].fillna("").astype(str) if column in prepared.columns else pd.Series("", index=prepared.index)
    value = pd.Series(values.to_numpy(dtype=object), index=prepared["record_id"].to_numpy())
    of_key = value.reindex(keys["record_id"].to_numpy(), fill_value="").to_numpy(dtype=object)
    return pd.Series(np.where(np.isin(keys["rule"].to_numpy(), own), "", of_key), index=keys.index, dtype=object)


# a distinct key's own blocking rule may block on the column it is derived from (zh_person:
# id_trusted is id_number where the number is valid, and the rule blocks on id_number)
DISTINCT_SOURCE = {"id_trusted": "id_number"}


def term_counts(prepared: pd.DataFrame, settings: MatchSettings) -> pd.DataFrame:
    """(term_key, n) this frame adds: per term-frequency column each value, the column's total
    ("<column>\\t"), and the number of records."""
    frames = [pd.DataFrame({"term_key": [RECORDS_TERM], "n": [len(prepared)]})]
    for comparison in settings.comparisons:
        if not comparison.term_frequency:
            continue
        values = prepared[comparison.column].fillna("").astype(str)
        values = values[values != ""]
        counts = values.value_counts()
        frames.append(pd.DataFrame({"term_key": comparison.column + "\t" + counts.index.astype(str), "n": counts.to_numpy()}))
        frames.append(pd.DataFrame({"term_key": [comparison.column + "\t"], "n": [len(values)]}))
    return pd.concat(frames, ignore_index=True)


BIG_KEY_ROWS = 20  # records of an oversized key read to find its persons, per max_block_size


def neighbourhood(conn, seeds: pd.DataFrame, settings: MatchSettings, extra_records=()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(prepared records, their links) of what `seeds` (block_key, record_id of new records)
    can touch: stored records sharing a key with a seed, plus `extra_records`, and every record of
    their persons. A key shared by more records than the engine would block together is read as
    one record per person holding it, when fewer persons than that hold it (one person screened a
    thousand times: the engine joins such exact twins before blocking, matching/twins.py), else
    left out, as the engine leaves it out. Only the key's first BIG_KEY_ROWS × max_block_size
    records (by record id) are looked at: a key that many records share is one person's or a placeholder's.
    A key whose seeds all have a `narrow` value (`narrow_keys`) reads only the stored records
    without a value of the distinct key or with one of those values."""
    limit = int(settings.max_block_size)
    warehouse.load_keys(conn, "k_seed_keys", seeds[["block_key"]].astype({"block_key": "int64"}))
    sizes = warehouse.query_frame(conn, f"""
        SELECT block_key, COUNT(*) AS records FROM ({stored_keys("k_seed_keys")}) mk GROUP BY block_key""")
    small, big = sizes.loc[sizes["records"] < limit, ["block_key"]], sizes.loc[sizes["records"] >= limit, ["block_key"]]
    # a key is read narrow only when every seed holding it is narrow (see narrow_keys)
    own = seeds["narrow"].fillna("").astype(str).to_numpy() if "narrow" in seeds.columns else np.full(len(seeds), "")
    narrow = own != ""
    wide_keys = pd.unique(seeds["block_key"].to_numpy()[~narrow])
    is_narrow = small["block_key"].isin(pd.unique(seeds["block_key"].to_numpy()[narrow])) & ~small["block_key"].isin(wide_keys)
    warehouse.load_keys(conn, "k_small_keys", small[~is_narrow].astype({"block_key": "int64"}))
    distinct = settings.distinct_keys[0] if settings.distinct_keys else None
    sharing = warehouse.query_frame(conn, f"""
        SELECT DISTINCT mk.record_id FROM ({stored_keys("k_small_keys")}) mk""")
    if distinct and is_narrow.any():
        warehouse.load_keys(conn, "k_narrow_keys", small[is_narrow].astype({"block_key": "int64"}))
        # the seeds' own values too: a stored record with the same value whose ID key was too big to read
        warehouse.load_keys(conn, "k_narrow_values", pd.DataFrame({"own_value": pd.unique(own[narrow]).astype(object)}))
        # each record looked up once, in record order (a record shares several keys with a seed)
        sharing = pd.concat([sharing, warehouse.query_frame(conn, f"""
            SELECT mk.record_id FROM (SELECT DISTINCT record_id FROM ({stored_keys("k_narrow_keys")}) u) mk
            JOIN match_record mr ON mr.record_id = mk.record_id
            WHERE (COALESCE(mr.{distinct}, '') = '' OR mr.{distinct} IN (SELECT own_value FROM k_narrow_values))""")])
    touched = pd.Index(sharing["record_id"]).union(pd.Index(list(extra_records)))
    for key in big["block_key"].astype("int64"):  # few: an identifier repeated, a placeholder phone
        # at most BIG_KEY_ROWS of the key's records: enough to see one person's thousands of twins,
        # or that more than `limit` persons share it (a placeholder), without reading them all (each
        # table limited on its own: PostgreSQL would otherwise read the whole key to order the union)
        holders = warehouse.query_frame(conn, f"""
            SELECT l.person_id, MIN(k.record_id) AS record_id
            FROM (SELECT record_id FROM (SELECT record_id FROM match_key WHERE block_key = :key
                                         ORDER BY record_id LIMIT {BIG_KEY_ROWS * limit}) a
                  UNION ALL
                  SELECT record_id FROM (SELECT record_id FROM match_key_recent WHERE block_key = :key
                                         ORDER BY record_id LIMIT {BIG_KEY_ROWS * limit}) b
                  ORDER BY record_id LIMIT {BIG_KEY_ROWS * limit}) k
            JOIN person_link l ON l.source_record_id = k.record_id GROUP BY l.person_id""", key=int(key))
        if len(holders) < limit:
            touched = touched.union(pd.Index(holders["record_id"]))
    warehouse.load_keys(conn, "k_touched", pd.DataFrame({"source_record_id": touched.astype(str)}))
    links = warehouse.query_frame(conn, """
        SELECT l.source_record_id, l.person_id FROM person_link l
        WHERE l.person_id IN (SELECT person_id FROM person_link
                              WHERE source_record_id IN (SELECT source_record_id FROM k_touched))""")
    records = warehouse.rows_by_keys(conn, "match_record", "record_id", links["source_record_id"],
                                     columns="record_id, " + ", ".join(MATCH_COLUMNS))
    return records, links


def population(conn, frame: pd.DataFrame, added: pd.DataFrame, settings: MatchSettings) -> Population:
    """What the whole warehouse (plus this batch's `added` counts) says about `frame`'s records:
    the number of records, each record's share of its value per term-frequency column, and a
    lookup of person ids in use."""
    keys = [RECORDS_TERM]
    columns = [c.column for c in settings.comparisons if c.term_frequency]
    for column in columns:
        values = frame[column].fillna("").astype(str)
        keys += [column + "\t", *(column + "\t" + values[values != ""].unique())]
    stored = warehouse.rows_by_keys(conn, "match_term", "term_key", keys, columns="term_key, n")
    counts = pd.concat([stored, added]).groupby("term_key")["n"].sum()
    shares = {}
    for column in columns:
        values = frame[column].fillna("").astype(str)
        total = max(float(counts.get(column + "\t", 0)), 1.0)
        n = (column + "\t" + values).map(counts).fillna(0).to_numpy(dtype=float)
        shares[column] = np.where(values.to_numpy() != "", n / total, 0.0)

    def in_use(candidates: np.ndarray) -> np.ndarray:
        found = warehouse.rows_by_keys(conn, "person_link", "person_id", candidates, columns="DISTINCT person_id")
        return pd.Index(candidates, dtype=object).isin(found["person_id"])

    return Population(int(counts.get(RECORDS_TERM, len(frame))), shares, in_use)


def still_together(conn, latest_batch: str | None) -> list[str]:
    """Records of remembered "not the same person" pairs that are still in one person: they
    are resolved again (so the person splits) by the next run. Every run keeps its pairs apart, so
    a pair can only have come together where a record changed person: the pairs of the records
    whose link the latest published batch changed are checked (by index), not every pair stored;
    with no pair stored at all (a warehouse before its first 非本人 answer, after a first load that
    changed a million links), nothing is read."""
    if warehouse.is_empty(conn, "match_cannot_link"):
        return []
    found = warehouse.query_frame(conn, """
        WITH touched AS (
            SELECT c.left_record_id, c.right_record_id FROM person_link x
            JOIN match_cannot_link c ON c.left_record_id = x.source_record_id WHERE x.changed_batch_id = :b
            UNION
            SELECT c.left_record_id, c.right_record_id FROM person_link x
            JOIN match_cannot_link c ON c.right_record_id = x.source_record_id WHERE x.changed_batch_id = :b)
        SELECT t.left_record_id, t.right_record_id FROM touched t
        JOIN person_link a ON a.source_record_id = t.left_record_id
        JOIN person_link b ON b.source_record_id = t.right_record_id
        WHERE a.person_id = b.person_id""", b=latest_batch or "")
    return sorted(set(found["left_record_id"]) | set(found["right_record_id"]))


def cannot_link_among(conn, record_ids) -> pd.DataFrame:
    """The remembered pairs with a record among `record_ids` (left_id, right_id)."""
    warehouse.load_keys(conn, "k_cl_records", pd.DataFrame({"record_id": pd.Index(record_ids).astype(str)}))
    return warehouse.query_frame(conn, """
        SELECT left_record_id AS left_id, right_record_id AS right_id FROM match_cannot_link
        WHERE left_record_id IN (SELECT record_id FROM k_cl_records)
           OR right_record_id IN (SELECT record_id FROM k_cl_records)""")


def forget_batch(conn, batch_id: str, settings: MatchSettings) -> None:
    """Take back the block keys a batch added (a re-run of the latest batch): they are those of the
    batch's `match_record` rows, read by its batch index; the key tables are keyed by (block_key,
    record_id), so each goes by its key, from both. Runs before sql/publish/delete_batch.sql removes those rows."""
    rows = warehouse.query_frame(conn, f"SELECT record_id, {', '.join(MATCH_COLUMNS)} FROM match_record "
                                       "WHERE batch_id = :b", b=batch_id)
    _forget_keys(conn, rows, settings)


def forget_records(conn, record_ids, settings: MatchSettings) -> tuple[int, int]:
    """Remove records from matching for good (retention): their block keys and `match_record`
    rows go, so no later record is compared with them, and their values leave the term counts
    (a name counted once would otherwise stay there). Returns (block keys, records) removed."""
    rows = warehouse.rows_by_keys(conn, "match_record", "record_id", pd.Series(list(record_ids), dtype=object),
                                  columns=f"record_id, {', '.join(MATCH_COLUMNS)}")
    removed, records = _forget_keys(conn, rows, settings), 0
    if len(rows):
        warehouse.load_keys(conn, "k_forget_records", rows[["record_id"]])
        records = conn.exec_driver_sql(
            "DELETE FROM match_record WHERE record_id IN (SELECT record_id FROM k_forget_records)").rowcount
        gone = term_counts(rows, settings).groupby("term_key", as_index=False)["n"].sum()
        stored = warehouse.rows_by_keys(conn, "match_term", "term_key", gone["term_key"], columns="term_key, n, batch_id")
        left = stored.merge(gone, on="term_key", suffixes=("", "_gone"))
        left = left.assign(n=left["n"] - left["n_gone"])[["term_key", "n", "batch_id"]]
        where, params = warehouse.key_filter(conn, "match_term", "term_key", stored["term_key"])
        conn.execute(sa.text(f"DELETE FROM match_term WHERE {where}"), params)
        warehouse.bulk_insert(conn, "match_term", left[left["n"] > 0])
        # a value no record holds any more leaves `batch_undo` too: its key there is the value (a
        # name, a phone), and taking the latest batch back would count it again
        emptied = pd.concat([left.loc[left["n"] <= 0, "term_key"], gone.loc[~gone["term_key"].isin(stored["term_key"]),
                                                                            "term_key"]])
        if len(emptied):
            where, params = warehouse.key_filter(conn, "batch_undo", "row_key", emptied)
            conn.execute(sa.text(f"DELETE FROM batch_undo WHERE table_name = 'match_term' AND {where}"), params)
    return removed, records


def _forget_keys(conn, rows: pd.DataFrame, settings: MatchSettings) -> int:
    """The records' block keys removed, by the list of their (block_key, record_id) pairs: SQLite
    reads each block a pair names once (by the key's first column) and PostgreSQL probes each pair
    by the primary key. Not by a key list and a record list: SQLite then probed every key with every
    record (a re-run of a 56,615-record batch: 464,192 keys, over ten minutes)."""
    if rows.empty:
        return 0
    warehouse.load_keys(conn, "k_forget_pairs", block_keys(rows, settings)[["block_key", "record_id"]])
    return sum(conn.exec_driver_sql(f"""DELETE FROM {table} WHERE (block_key, record_id) IN
                                        (SELECT block_key, record_id FROM k_forget_pairs)""").rowcount
               for table in KEY_TABLES)


def add_terms(conn, batch_id: str, added: pd.DataFrame, staged=None) -> None:
    """Add this batch's counts to `match_term` (before-images kept for re-runs). Into an empty
    table, `staged` (a `sqlite_bulk.Scratch` holding the counts, one row a term as `term_counts`
    makes them) copies them in."""
    if staged is not None and staged.ready("match_term") and warehouse.is_empty(conn, "match_term"):
        batch_rows.replace_rows(conn, batch_id, "match_term", "term_key", added.iloc[:0], staged=staged)
        return
    if added.empty:
        return
    added = added.groupby("term_key", as_index=False)["n"].sum()
    stored = warehouse.rows_by_keys(conn, "match_term", "term_key", added["term_key"], columns="term_key, n")
    total = pd.concat([stored, added]).groupby("term_key", as_index=False)["n"].sum() if len(stored) else added
    batch_rows.replace_rows(conn, batch_id, "match_term", "term_key", total)
