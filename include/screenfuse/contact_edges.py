"""Contact chains: one edge per record naming an index case (密接对象), index person → contact person.

A record (in practice a police investigation, 公安排摸/流调) that names an index case
(`contact_of_name`, `contact_of_id`) is an edge of `contact_edge`: its own person is the contact, the
index case is resolved to a person, with the 末次接触日期 (`last_contact_date`) and the 流调编号
(`investigation_id`) of the record. The table keeps no personal data of the index case: the name
and ID number it was given stay in the record (`source_record.contact_of_name`, `contact_of_id`),
which the edge names.

Resolution is by normalized ID number only (ingest normalizes `contact_of_id` as it normalizes
`id_number`): the index is the person holding a record that carries that ID, other than the contact
themselves (several persons: the smallest person id, resolution `id_number` all the same). An edge
without an ID (a name only) is never resolved by name: names are shared by many people (张伟), and
a name matched among the persons an hour happens to read would make the result depend on which
hour brought what; it is listed by `v_contact_edges_unresolved` for the 流调 team, as are IDs that
no person carries (yet) and records naming their own person.

An edge depends only on the person of its own record and on the persons of the records carrying
its index's ID. An hour therefore recomputes (`plan_edges`) the edges of its new records, the
edges whose own record changed person, and the edges naming an ID carried by a record that is new
or changed person (found by index: `source_record.contact_of_id`, migration 0007); an index case
whose record arrives hours after its contacts resolves their edges in that hour. Nothing else is
read or rewritten.
"""
from __future__ import annotations

import pandas as pd

from screenfuse import warehouse
from screenfuse.person_history import detail_text
from screenfuse.text_keys import is_in

EDGE_COLUMNS = ["source_record_id", "contact_person_id", "index_person_id", "resolution", "contact_date",
                "investigation_id"]
RESOLVED, NOT_FOUND, NAME_ONLY, NAMES_SELF = "id_number", "id_not_found", "name_only", "names_self"
_KEYS = ["source_record_id", "contact_of_id"]


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series("", index=frame.index, dtype=object)
    return frame[column].fillna("").astype(str).str.strip()


def naming_records(records: pd.DataFrame) -> pd.DataFrame:
    """The records that name an index case (a name or an ID): source_record_id, contact_of_id
    ("" when none), contact_date (末次接触日期) and investigation_id (流调编号) of each."""
    named = (_text(records, "contact_of_name") != "") | (_text(records, "contact_of_id") != "")
    rows = records.loc[named]
    out = pd.DataFrame({"source_record_id": rows["source_record_id"].astype(object),
                        "contact_of_id": _text(rows, "contact_of_id")})
    for column, field in (("contact_date", "last_contact_date"), ("investigation_id", "investigation_id")):
        values = detail_text(rows, field) if len(rows) else None
        out[column] = values.str.strip() if values is not None else ""
    return out.reset_index(drop=True)


def resolve_edges(edges: pd.DataFrame, person_of: pd.Series, holders: pd.DataFrame) -> pd.DataFrame:
    """Edges (EDGE_COLUMNS) of the naming records `edges` (`naming_records`' columns): the contact is
    the person of the record (`person_of`: record id → person id), the index the person holding a
    record with the named ID (`holders`: id_number, person_id), never the contact themselves."""
    out = edges.assign(contact_person_id=edges["source_record_id"].map(person_of))
    out = out[out["contact_person_id"].notna()]  # a record without a person (none is) makes no edge
    has_id = out["contact_of_id"] != ""
    held = holders.loc[holders["id_number"].fillna("") != "", ["id_number", "person_id"]].drop_duplicates()
    found = out.loc[has_id, ["source_record_id", "contact_of_id", "contact_person_id"]].merge(
        held.rename(columns={"id_number": "contact_of_id", "person_id": "index_person_id"}), on="contact_of_id")
    others = found[found["index_person_id"] != found["contact_person_id"]]
    first = others.sort_values(["source_record_id", "index_person_id"]).drop_duplicates("source_record_id")
    out = out.merge(first[["source_record_id", "index_person_id"]], on="source_record_id", how="left")
    resolution = pd.Series(NOT_FOUND, index=out.index, dtype=object)
    resolution[out["contact_of_id"] == ""] = NAME_ONLY
    resolution[out["source_record_id"].isin(found["source_record_id"])] = NAMES_SELF  # only themselves
    resolution[out["index_person_id"].notna()] = RESOLVED
    out["resolution"] = resolution
    out["index_person_id"] = out["index_person_id"].astype(object).where(out["index_person_id"].notna(), None)
    return out[EDGE_COLUMNS].sort_values("source_record_id", ignore_index=True)


def _nonempty(values) -> list:
    return sorted({v for v in values if isinstance(v, str) and v})


def plan_edges(conn, new_records: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """The edges an hour writes (EDGE_COLUMNS): those of its new records naming an index, and the
    stored edges whose contact or index may have changed person (`links`: the links the batch
    changed, new records included). Every read is by index."""
    changed = links[["source_record_id", "person_id"]]
    # nothing stored yet (a first load): no stored record moved, names or is named; the lists of a
    # million ids that would ask would find nothing
    stored_any = not warehouse.is_empty(conn, "source_record")
    moved = changed[~is_in(changed["source_record_id"], new_records["source_record_id"])] if stored_any \
        else changed.iloc[:0]
    moved_rows = warehouse.rows_by_keys(conn, "source_record", "source_record_id", moved["source_record_id"],
                                        columns="source_record_id, id_number, contact_of_id") \
        if len(moved) else pd.DataFrame(columns=["source_record_id", "id_number", "contact_of_id"])
    ids = _nonempty(new_records["id_number"].tolist() + moved_rows["id_number"].tolist()) if stored_any else []
    naming = warehouse.rows_by_keys(conn, "source_record", "contact_of_id", ids, columns="source_record_id, contact_of_id") \
        if ids else pd.DataFrame(columns=_KEYS)
    asked = pd.concat([moved_rows[_KEYS], naming], ignore_index=True).drop_duplicates("source_record_id")
    stored = warehouse.rows_by_keys(conn, "contact_edge", "source_record_id", asked["source_record_id"],
                                    columns="source_record_id, contact_date, investigation_id") \
        if len(asked) else pd.DataFrame(columns=["source_record_id", "contact_date", "investigation_id"])
    old = stored.merge(asked.assign(contact_of_id=_text(asked, "contact_of_id")), on="source_record_id")
    edges = pd.concat([e for e in (naming_records(new_records), old) if len(e)] or [naming_records(new_records)],
                      ignore_index=True)
    if edges.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in EDGE_COLUMNS})
    holders = _holders(conn, _nonempty(edges["contact_of_id"]), new_records)
    person_of = _persons_now(conn, pd.concat([edges["source_record_id"], holders["source_record_id"]]), changed)
    return resolve_edges(edges, person_of, holders.assign(person_id=holders["source_record_id"].map(person_of)))


def _holders(conn, ids: list, new_records: pd.DataFrame) -> pd.DataFrame:
    """The records (source_record_id, id_number) carrying one of `ids`: stored (by index) and new."""
    stored = warehouse.rows_by_keys(conn, "source_record", "id_number", ids, columns="source_record_id, id_number") \
        if ids else pd.DataFrame(columns=["source_record_id", "id_number"])
    new = new_records.loc[new_records["id_number"].isin(ids), ["source_record_id", "id_number"]]
    return pd.concat([stored, new], ignore_index=True).drop_duplicates("source_record_id")


def _persons_now(conn, record_ids: pd.Series, changed: pd.DataFrame) -> pd.Series:
    """Record id → person id of `record_ids` as the batch leaves it: the changed links, else the
    stored ones. Only the ids asked are looked up in `changed` (a first load's million links are
    not made an index to answer a few thousand)."""
    wanted = record_ids.drop_duplicates()
    mine = changed[is_in(changed["source_record_id"], wanted)].drop_duplicates("source_record_id")
    now = mine.set_index("source_record_id")["person_id"]
    rest = wanted[~is_in(wanted, now.index)]
    stored = warehouse.rows_by_keys(conn, "person_link", "source_record_id", rest, columns="source_record_id, person_id") \
        if len(rest) else pd.DataFrame(columns=["source_record_id", "person_id"])
    return pd.concat([stored.set_index("source_record_id")["person_id"], now])


def all_edges(conn) -> pd.DataFrame:
    """Every edge, from the stored records and links (revision 0010 fills the table with them; reads
    the records naming an index and the records carrying their IDs)."""
    records = warehouse.query_frame(conn, """SELECT source_record_id, contact_of_name, contact_of_id, details_json
        FROM source_record WHERE contact_of_name <> '' OR contact_of_id <> ''""")
    edges = naming_records(records)
    if edges.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in EDGE_COLUMNS})
    holders = _holders(conn, _nonempty(edges["contact_of_id"]), records.iloc[:0].assign(id_number=[]))
    links = warehouse.rows_by_keys(conn, "person_link", "source_record_id",
                                   pd.concat([edges["source_record_id"], holders["source_record_id"]]).drop_duplicates(),
                                   columns="source_record_id, person_id")
    person_of = links.set_index("source_record_id")["person_id"]
    return resolve_edges(edges, person_of, holders.assign(person_id=holders["source_record_id"].map(person_of)))
