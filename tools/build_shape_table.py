"""Build include/screenfuse/matching/data/unihan_shapes.tsv, the shape codes the zh_name
comparator uses to tell characters a handwritten form confuses (己/已, 住/往, 輪/輸), from the
Unicode Han Database (Unihan) that Debian's unicode-data package ships:

    apt-get install unicode-data   # /usr/share/unicode/Unihan_*.txt.bz2
    python tools/build_shape_table.py [UNIHAN_DIR]

One row per character that has a four-corner code (kFourCornerCode), a Cangjie code (kCangjie)
and a stroke count (kTotalStrokes): the character, its four-corner codes without the
supplementary digit (comma-separated when it has two), its Cangjie code and its strokes. The
Unicode licence that covers the derived data is data/UNICODE-LICENSE.txt.
"""
from __future__ import annotations

import bz2
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "include/screenfuse/matching/data/unihan_shapes.tsv"


def read_field(directory: Path, file: str, key: str) -> dict[str, str]:
    values = {}
    with bz2.open(directory / file, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("U+"):
                point, field, value = line.rstrip("\n").split("\t")
                if field == key:
                    values[chr(int(point[2:], 16))] = value
    return values


def main(directory: Path) -> None:
    corners = read_field(directory, "Unihan_DictionaryLikeData.txt.bz2", "kFourCornerCode")
    cangjie = read_field(directory, "Unihan_DictionaryLikeData.txt.bz2", "kCangjie")
    strokes = read_field(directory, "Unihan_IRGSources.txt.bz2", "kTotalStrokes")
    rows = []
    for char in sorted(set(corners) & set(cangjie) & set(strokes)):
        codes = dict.fromkeys(code[:4] for code in corners[char].split())  # 4040.3 5023.0 → 4040,5023
        rows.append(f"{char}\t{','.join(codes)}\t{cangjie[char]}\t{strokes[char].split()[0]}\n")
    OUT.write_text("# character\tfour-corner codes\tCangjie\tstrokes (from Unihan; see UNICODE-LICENSE.txt)\n"
                   + "".join(rows), encoding="utf-8")
    print(f"{len(rows)} characters written to {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/unicode"))
