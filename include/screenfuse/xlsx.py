"""Write XLSX files whose bytes depend only on their content.

openpyxl stamps the save time into docProps/core.xml and the zip entries; a file written twice
would then get a new SHA-256 and be taken for a new delivery. We pin both.
"""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pandas as pd

FIXED_STAMP = "2020-01-01T00:00:00Z"


def write_xlsx(frame: pd.DataFrame, path: Path, sheet_name: str = "Sheet1") -> None:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name=sheet_name)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>" + FIXED_STAMP.encode() + rb"\g<2>",
                    data,
                )
            entry = zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())
