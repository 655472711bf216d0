"""Close contacts (密接): the measure follows the status of the index case (密接对象).

Seed 002 l.24: "對確診病例的密切接觸者,實行嚴格的集中隔離14天,對疑似病例的密切接觸者實施居家隔離". The police
feed names the index case of a contact (contact_of_name, contact_of_id); the index is resolved to a
person of the same fuse input by ID number (any record of that person carrying the normalized ID),
and the contact's measure is the policy's `contacts.by_index_status` entry for the index's current
status. An index that cannot be resolved (no ID, an ID nobody in the input has) counts as a
confirmed case: the contact keeps the status's own, safer measure. When a person has several index
cases, the highest-ranked status among them decides (a contact of a suspected and of a confirmed
case is a contact of a confirmed case). Vectorized: joins over the records, no loop per person.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from screenfuse.per_person import PerPerson
from screenfuse.policy_types import Policy


def index_status(rec: pd.DataFrame, by: PerPerson, person_status: pd.Series, supporting: np.ndarray,
                 policy: Policy) -> pd.Series:
    """Per person (by.index), the status of their index case ("" when they are not a contact of the
    policy's `contacts.status`, or when no index of theirs is resolved: unknown)."""
    out = pd.Series("", index=by.index, dtype=object)
    spec = policy.contacts
    if spec is None or "contact_of_id" not in rec:
        return out
    mine = supporting & (rec["record_status"] == spec.status).to_numpy()
    index_id = rec["contact_of_id"].fillna("").astype(str).str.strip()
    mine &= (index_id != "").to_numpy()
    if not mine.any():
        return out
    # the persons holding the ID numbers contacts name (few: not every record's ID and person)
    named = rec["id_number"].isin(pd.unique(index_id.to_numpy()[mine])).to_numpy()
    ids = rec.loc[named, ["id_number", "person_id"]].drop_duplicates()
    status_of = person_status.rename("index_status").rename_axis("person_id").reset_index()
    known = ids.merge(status_of, on="person_id").rename(columns={"id_number": "contact_of_id",
                                                                 "person_id": "index_person"})
    # one person per ID number, the highest-ranked (an ID several persons share must not multiply rows)
    known["rank"] = known["index_status"].map(policy.status_rank)
    known = known.sort_values(["contact_of_id", "rank"]).drop_duplicates("contact_of_id")
    asked = pd.DataFrame({"row": np.flatnonzero(mine), "contact_of_id": index_id.to_numpy()[mine],
                          "person_id": rec["person_id"].to_numpy()[mine]})
    found = asked.merge(known, on="contact_of_id")
    found = found[found["index_person"] != found["person_id"]]  # a record naming its own person is no index
    if found.empty:
        return out
    best = found.sort_values(["person_id", "rank"]).drop_duplicates("person_id")
    out[best["person_id"].to_numpy()] = best["index_status"].to_numpy()
    return out


def contact_measure(measure: pd.Series, status: pd.Series, index: pd.Series, policy: Policy) -> pd.Series:
    """The measure of each contact by their index case's status (`contacts.by_index_status`); the
    status's own measure for an index status not listed or unknown ("")."""
    spec = policy.contacts
    if spec is None:
        return measure
    refined = index.map(dict(spec.by_index_status)).where(status == spec.status)
    return refined.fillna(measure)
