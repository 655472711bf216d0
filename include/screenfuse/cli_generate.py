"""`screenfuse generate` and `screenfuse answer`: seeded synthetic feeds and street offices' answers
(screenfuse.synthetic*). Synthetic data only: never real personal data."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path


def add_parsers(sub) -> None:
    gen = sub.add_parser("generate", help="write one seeded synthetic day of the four district feeds (and, with options, mass screening, arrivals, "
                         "city lists, pharmacies, self-reports, isolation points)")
    gen.add_argument("--people", type=int, default=3000, help="how many synthetic people live in the district's feeds")
    gen.add_argument("--seed", type=int, default=1, help="the random seed: the same seed writes the same files")
    gen.add_argument("--day", default="2020-02-10", help="the day the feeds describe (YYYY-MM-DD)")
    gen.add_argument("--out", help="landing folder, one sub-folder per feed (default: the one `screenfuse run` reads: "
                     "$SCREENFUSE_LANDING, else $SCREENFUSE_HOME/landing)")
    gen.add_argument("--truth", help="ground-truth folder, never read by the pipeline (default: $SCREENFUSE_HOME/truth)")
    gen.add_argument("--flat", metavar="CSV", help="instead of feed files, one CSV of canonical person columns "
                     "(record_id, name, id_number, phone, address) for `screenfuse dedupe --preset zh_person`")
    gen.add_argument("--day-index", type=int, default=0,
                     help="0: the first day; N > 0: a later day of the same population (same seed)")
    gen.add_argument("--zero-reports", action="store_true",
                     help="units without rows send a header-only file (零报告); a few stay silent")
    gen.add_argument("--mass-screening", type=int, default=0, metavar="N",
                     help="also N rows of mass nucleic-acid screening (全员核酸筛查) that day: sampling files per "
                     "sampling point in mass_screening/, the labs' results in mass_screening_result/")
    gen.add_argument("--arrivals", type=int, default=0, metavar="N",
                     help="also N arrivals (入境/一人一档) registered at the hubs that day, in arrivals/")
    gen.add_argument("--city-lists", type=int, default=0, metavar="N",
                     help="also N rows of the city's lists of key persons (市下推重点人员) that day, in city_list/")
    gen.add_argument("--pharmacies", type=int, default=0, metavar="N",
                     help="also about N pharmacy registrations of fever, cough and cold medicine buyers (药店购药实名登记) "
                     "that day, one file per pharmacy in pharmacy/")
    gen.add_argument("--self-report", type=int, default=0, metavar="N",
                     help="also about N self-reports (自主申报: mini-program and hotline) that day in self_report/")
    gen.add_argument("--isolation", action="store_true",
                     help="also the isolation points (隔离点): their list (first day) and each point's daily "
                     "monitoring of the close contacts and arrivals it holds, in isolation_monitoring/")
    gen.set_defaults(func=_generate)

    ans = sub.add_parser("answer", help="synthetic feedback: street offices answer the lists of one outbox batch")
    ans.add_argument("--outbox", required=True, help="outbox folder of one batch, e.g. data/outbox/20200210T1300Z")
    ans.add_argument("--out", help="feedback landing folder (default: the landing folder's feedback/)")
    ans.add_argument("--seed", type=int, default=1, help="the random seed: the same seed gives the same answers")
    ans.add_argument("--at", required=True, help="when the answers start (ISO 8601, the warehouse's clock)")
    ans.add_argument("--overdue-only", action="store_true", help="answer only the items flagged 超时 (late answers)")
    ans.set_defaults(func=_answer)



def _default_folders(args) -> None:
    """Folders not given: those of the environment (`config.data_folders`), not the working folder's."""
    from screenfuse.config import data_folders

    home, landing = data_folders()
    if getattr(args, "truth", "") is None:
        args.truth = str(home / "truth")
    if args.out is None:
        args.out = str(landing / "feedback" if args.func is _answer else landing)


def _generate(args) -> int:
    from screenfuse.synthetic import generate
    from screenfuse.synthetic_flat import generate_flat

    _default_folders(args)
    if args.flat:
        n = generate_flat(args.people, args.seed, date.fromisoformat(args.day), Path(args.flat), Path(args.truth) / "flat_truth.csv")
        print(f"wrote {n} records of {args.people} people to {args.flat}; truth in {Path(args.truth) / 'flat_truth.csv'}")
        return 0
    result = generate(args.people, args.seed, date.fromisoformat(args.day), Path(args.out), Path(args.truth),
                      day_index=args.day_index, zero_reports=args.zero_reports)
    rows = ", ".join(f"{feed} {n}" for feed, n in result["rows"].items())
    print(f"generated {result['people']} people, {result['files']} files into {args.out} ({rows}); truth in {args.truth}")
    if args.mass_screening:
        _generate_mass(args)
    if args.arrivals or args.city_lists:
        _generate_arrivals(args)
    if args.pharmacies or args.self_report:
        _generate_registrations(args)
    if args.isolation:
        _generate_isolation(args)
    return 0


def _people_of_the_day(args):
    """The people just written (truth/people.csv, or people_<day index>.csv), the day and the folders."""
    import pandas as pd

    suffix = f"_{args.day_index}" if args.day_index else ""
    people = pd.read_csv(Path(args.truth) / f"people{suffix}.csv", dtype=str, keep_default_na=False)
    return people, date.fromisoformat(args.day), Path(args.out), Path(args.truth)


def _generate_arrivals(args) -> None:
    """The arrivals (入境/一人一档) and the city's lists (市下推) of the same day, for the people just
    written (truth/people.csv)."""
    from screenfuse.synthetic_arrivals import generate_arrivals, generate_city_lists

    people, day, out, truth = _people_of_the_day(args)
    if args.arrivals:
        done = generate_arrivals(args.arrivals, args.seed, day, out, truth, people, args.day_index, args.zero_reports)
        print(f"arrivals: {done['rows']} rows in {done['files']} hub files ({done['abroad']} from abroad, "
              f"{done['foreign']} foreign nationals, {done['business']} business travellers)")
    if args.city_lists:
        done = generate_city_lists(args.city_lists, args.seed, day, out, truth, people, args.day_index)
        categories = ", ".join(f"{k} {v}" for k, v in done["categories"].items())
        print(f"city lists: {done['rows']} rows in {done['files']} lists ({categories})")


def _generate_registrations(args) -> None:
    """The pharmacies' registrations and the self-reports of the same day, by the people just
    written (truth/people.csv)."""
    from screenfuse.synthetic_pharmacy import generate_pharmacy
    from screenfuse.synthetic_self_report import generate_self_report

    people, day, out, truth = _people_of_the_day(args)
    if args.pharmacies:
        done = generate_pharmacy(args.pharmacies, args.seed, day, out, truth, people, args.day_index, args.zero_reports)
        print(f"pharmacies: {done['rows']} registrations at {done['pharmacies']} pharmacies "
              f"({done['fever_medicine']} fever medicine, {done['bad']} bad rows), {done['files']} files")
    if args.self_report:
        done = generate_self_report(args.self_report, args.seed, day, out, truth, people, args.day_index)
        print(f"self-reports: {done['rows']} reports ({done['fever']} fever, {done['contact']} contact, "
              f"{done['arrival']} arrival, {done['suspected']} suspected, {done['symptoms']} other symptoms, "
              f"{done['bad']} bad rows), {done['files']} files")


def _generate_mass(args) -> None:
    """The mass screening of the same day: the people just written (truth/people.csv) and the
    district's other residents."""
    import time

    import pandas as pd

    from screenfuse.synthetic_mass import generate_mass_screening

    started = time.perf_counter()
    suffix = f"_{args.day_index}" if args.day_index else ""
    people = pd.read_csv(Path(args.truth) / f"people{suffix}.csv", dtype=str, keep_default_na=False)
    done = generate_mass_screening(args.mass_screening, args.seed, date.fromisoformat(args.day), Path(args.out),
                                   Path(args.truth), people=people, day_index=args.day_index)
    print(f"mass screening: {done['rows']} sampling rows at {done['points']} sampling points ({done['pools']} pools, "
          f"{done['positive']} truly positive), {done['result_rows']} result rows, {done['files']} files "
          f"in {time.perf_counter() - started:.1f} s")


def _generate_isolation(args) -> None:
    """The isolation points' list (first day) and their daily monitoring of the people held: the
    close contacts and arrivals of the first day's population (truth/people.csv)."""
    import pandas as pd

    from screenfuse.synthetic_isolation import generate_isolation

    people = pd.read_csv(Path(args.truth) / "people.csv", dtype=str, keep_default_na=False)
    done = generate_isolation(args.seed, date.fromisoformat(args.day), Path(args.out), Path(args.truth), people,
                              day_index=args.day_index, zero_reports=args.zero_reports)
    print(f"isolation points: {done['points']} points, {done['held']} monitoring rows, {done['fever']} with a fever "
          f"or symptoms, {done['released']} released, {done['transferred']} transferred out, {done['missed']} "
          f"checks left out, {done['files']} files")


def _answer(args) -> int:
    _default_folders(args)
    from screenfuse.synthetic import answer_push_lists

    at = datetime.fromisoformat(args.at)
    counts = answer_push_lists(Path(args.outbox), Path(args.out), args.seed, at.replace(tzinfo=None),
                               only_overdue=args.overdue_only)
    detail = ", ".join(f"{k} {v}" for k, v in counts.items() if k != "answered")
    print(f"feedback: {counts['answered']} answers ({detail}) into {args.out}")
    return 0
