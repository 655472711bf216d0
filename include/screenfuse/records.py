"""The canonical source record: the columns every feed is normalized into.

Fields a contract declares beyond these are kept, normalized, in `details_json`; the row as the
unit sent it is kept in `raw_json`.
"""
from __future__ import annotations

IDENTITY_COLUMNS = [  # id_type: the document (screenfuse.documents.DOCUMENT_TYPES) id_number is of
    "name", "name_pinyin", "id_type", "id_number", "id_status", "birth_date", "sex", "region_code",
    "phone", "phone2", "phone_status", "address", "street", "community",
]
FACT_COLUMNS = [
    "temperature", "category", "nucleic_acid", "action", "came_from", "arrival_date",
    "contact_of_name", "contact_of_id",
]
# where a record came from and the row as sent: kept with it, never a fact a policy decides from
ORIGIN_COLUMNS = ("batch_id", "file_name", "file_sha256", "row_number", "raw_json")
RECORD_COLUMNS = [
    "source_record_id", "batch_id", "feed", "file_name", "file_sha256", "row_number",
    "unit", "event_time", *IDENTITY_COLUMNS, *FACT_COLUMNS, "id_set_aside", "unreadable", "details_json", "raw_json",
]  # id_set_aside: why the row's ID number was set aside ('' = it was not; see row_fields.set_aside_reasons);
# unreadable: the optional dates given that could not be read, by field name ('' = none; row_fields.unreadable_fields)


def source_record_id(feed: str, file_sha256: str, row_number: int) -> str:
    """Stable id of a row: the same file delivered again yields the same ids."""
    return f"{feed}-{file_sha256[:12]}-{row_number:06d}"
