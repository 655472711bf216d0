"""A number of another country in a phone cell: an arrival from abroad gives their own. Kept in one
form whatever the separators, so the same person's records from two feeds share it, and never read
as a Chinese mobile (+1 312 555 0147's digits run together would be 131 2555 0147)."""
from __future__ import annotations

import re

# a number written in full with another country's code: '+' first, then E.164's 9 to 15 digits
# (+852 9123 4567). Not '00' (0027-87654321 is Wuhan's 027 with a zero too many), not +86 (China's,
# read above), not +1 (`north_american`)
_FOREIGN = re.compile(r"\+([2-9][0-9]{8,14})")
_TWO_DIGIT_CODES = {"20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48",
                    "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81",
                    "82", "84", "86", "90", "91", "92", "93", "94", "95", "98"}  # ITU-T E.164; 7 the one 1-digit left


def foreign_number(compact: str) -> str:
    """'+' and the digits of a whole cell (its separators dropped) holding one number with another
    country's code, else ''."""
    found = _FOREIGN.fullmatch(compact.strip())  # other white space at either end too
    if not found:
        return ""
    digits = found.group(1)
    code = digits[:1] if digits[0] == "7" else digits[:2] if digits[:2] in _TWO_DIGIT_CODES else digits[:3]
    return "" if code == "86" or len(digits) - len(code) < 7 else "+" + digits


# +1, a separator or brackets, then area code, exchange and line (+1 (312) 555-0147): grouped so, no
# Chinese mobile (138 1234 5678); kept grouped, as its 11 digits run together (+14155550132) are read
# as a Chinese mobile, as before
_NORTH_AMERICAN = re.compile(r"(?<![0-9+])(?:\+1|\(\+1\))(?:[ \-.]+\(?|\()?([2-9][0-9]{2})\)?[ \-.]*([2-9][0-9]{2})"
                             r"[ \-.]*([0-9]{4})(?![0-9])")


def north_american(text: str) -> tuple[list[str], str]:
    """The grouped North American numbers of a cell, as '+1 415 555 0132', and the cell without them."""
    numbers = []

    def take(found: re.Match) -> str:
        if not found.group(0).startswith("(+1)") and found.group(0)[2:3].isdigit():
            return found.group(0)  # run together: a Chinese mobile's form
        numbers.append("+1 " + " ".join(found.groups()))
        return " / "
    return numbers, _NORTH_AMERICAN.sub(take, text)
