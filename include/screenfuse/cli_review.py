"""`screenfuse review list|show|decide`: the review desk at the command line (screenfuse.review_desk).

What it prints is for the district's operators, who decide the pairs: `show` prints both records
in full (names, ID numbers, phones), as the review list in the outbox does; `list` prints ids,
weights and what agreed, no personal data."""
from __future__ import annotations

import json
import sys
import unicodedata
from datetime import datetime, timezone

SIDE_FIELDS = [("feed", "来源"), ("unit", "单位"), ("event_time", "时间"), ("name", "姓名"), ("id_number", "证件号"),
               ("birth_date", "出生日期"), ("sex", "性别"), ("phone", "手机"), ("address", "地址"), ("person_id", "人员编号")]


def _pad(text: str, width: int) -> str:
    """`text` padded to `width` terminal columns (a CJK character takes two)."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - used, 0)


def add_parser(sub) -> None:
    rv = sub.add_parser("review", help="the review desk: list the record pairs the matching was unsure of, show one "
                                       "side by side, decide it (docs/review.md)")
    actions = rv.add_subparsers(dest="review_action", required=True)
    ls = actions.add_parser("list", help="open review items, likeliest match first (no personal data)")
    ls.add_argument("--limit", type=int, default=50, help="at most this many items (default: 50; 0: all)")
    ls.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    ls.add_argument("--decided", action="store_true", help="the latest decisions instead: who, when, and what the run "
                                                           "that applied it did (joined, kept apart, refused)")
    ls.set_defaults(func=_list)
    sh = actions.add_parser("show", help="one item: both records side by side and what each comparison added")
    sh.add_argument("review_id", help="the item's id (复核编号), from `review list` or the 复核清单")
    sh.set_defaults(func=_show)
    de = actions.add_parser("decide", help="decide an item; the next hourly run joins the two persons (same) or keeps "
                                           "them apart for good (different)")
    de.add_argument("review_id", help="the item's id (复核编号)")
    de.add_argument("decision", choices=["same", "different", "同一人", "非同一人"], help="same / different")
    de.add_argument("--by", required=True, help="who decides (recorded with the decision)")
    de.add_argument("--note", default="", help="why, recorded with the decision (default: none)")
    de.set_defaults(func=_decide)


def _engine():
    from screenfuse import schema
    from screenfuse.config import load_settings
    from screenfuse.pipeline import engine

    db = engine(load_settings())
    schema.require_current(db)
    return db


def _list(args) -> int:
    from screenfuse.review_desk import decisions_made, evidence_text, open_items, refused_lately

    if args.decided:
        with _engine().connect() as conn:
            made = decisions_made(conn, args.limit or None)
        if args.json:
            for row in made.to_dict(orient="records"):
                print(json.dumps(row, ensure_ascii=False))
        elif made.empty:
            print("no decisions yet")
        else:
            print(made.fillna("(next run)").to_string(index=False))
        return 0
    with _engine().connect() as conn:
        items, refused = open_items(conn, args.limit or None), refused_lately(conn)
    if refused and not args.json:  # a refused decision leaves the desk: say where it went
        print(f"{refused} decision(s) of the latest run refused: a 非本人 answer or two different valid ID numbers keep "
              f"the records apart (`screenfuse review list --decided`)")
    if args.json:
        for row in items.itertuples():
            print(json.dumps({"review_id": row.review_id, "batch_id": row.batch_id, "match_weight": row.match_weight,
                              "match_probability": row.match_probability, "left_feed": row.left_feed,
                              "right_feed": row.right_feed, "evidence": evidence_text(row.explanation)},
                             ensure_ascii=False))
        return 0
    if items.empty:
        print("no open review items")
        return 0
    wide = max(len(r) for r in items["review_id"])
    print(f"{'review_id':<{wide}} {'weight':>7} {'prob':>6}  feeds  evidence")
    for row in items.itertuples():
        print(f"{row.review_id:<{wide}} {row.match_weight:>7.2f} {row.match_probability:>6.3f}  "
              f"{row.left_feed}/{row.right_feed}  {evidence_text(row.explanation)}")
    print(f"{len(items)} open items; `screenfuse review show ID` for one, `screenfuse review decide ID same|different "
          f"--by NAME` to decide")
    return 0


def _show(args) -> int:
    from screenfuse.review_desk import COMPARISON_LABELS, LEVEL_LABELS, open_item

    review_id = args.review_id.strip()
    with _engine().connect() as conn:
        item = open_item(conn, review_id)
    if item is None:
        print(f"screenfuse: error: review item {review_id} is not open (unknown, decided, or its records are one "
              f"person or kept apart by now) — fix: `screenfuse review list` shows the open ones", file=sys.stderr)
        return 2
    print(f"{review_id}  (batch {item['batch_id']})  match weight {item['match_weight']:+.2f} bits, "
          f"probability {item['match_probability']:.3f}")
    sides = [(label, *("" if item[f"{s}_{key}"] is None else str(item[f"{s}_{key}"]) for s in ("left", "right")))
             for key, label in SIDE_FIELDS]
    width = max(len(_pad(left, 0)) + sum(unicodedata.east_asian_width(c) in "WF" for c in left) for _, left, _ in sides) + 2
    print(_pad("", 10) + _pad("record A", width) + "record B")
    for label, left, right in sides:
        print(_pad(label, 10) + _pad(left, width) + right)
    parts = json.loads(item["explanation"] or "{}")
    print("what each comparison added (bits):")
    running = float(parts.get("prior", 0.0))
    print(f"  {'prior (how rare a match is)':<34} {running:+7.2f}  = {running:+7.2f}")
    for name, part in parts.items():
        if not isinstance(part, dict):
            continue
        bits = float(part.get("bits", 0.0))
        running += bits
        label = f"{COMPARISON_LABELS.get(name, name)} ({name}): {LEVEL_LABELS.get(part.get('level'), part.get('level'))}"
        print(f"  {_pad(label, 34)} {bits:+7.2f}  = {running:+7.2f}")
    return 0


def _decide(args) -> int:
    from screenfuse.review_desk import ReviewError, decide

    review_id = args.review_id.strip()
    try:
        with _engine().begin() as conn:
            done = decide(conn, review_id, args.decision, args.by, datetime.now(timezone.utc), args.note)
    except ReviewError as exc:
        print(f"screenfuse: error: {exc}", file=sys.stderr)
        return 2
    what = ("joins the two records' persons (unless two different valid ID numbers or a 非本人 answer keep them "
            "apart: `screenfuse review list --decided` then says so)" if done["decision"] == "same"
            else "keeps the two records' persons apart for good")
    print(f"{review_id} decided {done['decision']} by {done['decided_by']}: the next hourly run {what}")
    return 0
