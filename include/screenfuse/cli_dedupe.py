"""`screenfuse dedupe` and `screenfuse evaluate`: the matching engine on any CSV, without the
warehouse, and the pairwise scores of its output against a truth file."""
from __future__ import annotations

import sys
from pathlib import Path

MODEL_SOURCES = {"trained": "learnt from this input", "given": "--model", "shipped": "the preset's"}


def add_parsers(sub) -> None:
    dd = sub.add_parser("dedupe", help="deduplicate any CSV: one person_id per input row")
    dd.add_argument("input", help="CSV file (UTF-8), one record per row")
    dd.add_argument("--settings", help="matching settings YAML (see docs/matching.md)")
    dd.add_argument("--preset", help="built-in settings: zh_person (record_id, name, id_number, phone, birth_date, sex, address)")
    dd.add_argument("--out", required=True, help="output CSV: the unique-id column and person_id")
    dd.add_argument("--review", help="also write the pairs left for review, with explanations")
    dd.add_argument("--links", help="also write the links that joined records, with explanations")
    dd.add_argument("--model", help="use this trained model (JSON from --model-out) instead of training")
    dd.add_argument("--model-out", help="write the model (prior, m and u per level) as JSON")
    dd.add_argument("--truth", help="truth CSV (unique id, true entity): also print each blocking rule's recall")
    dd.add_argument("--truth-column", help="the true-entity column in --truth (default: its other column)")
    dd.set_defaults(func=_dedupe)

    ev = sub.add_parser("evaluate", help="pairwise precision, recall, F1 of a dedupe output against the truth")
    ev.add_argument("output", help="dedupe output CSV (id column, person_id)")
    ev.add_argument("truth", help="truth CSV (id column, true entity column)")
    ev.add_argument("--id", help="the id column (default: the first column both files share)")
    ev.add_argument("--truth-column", help="the true-entity column in TRUTH (default: its other column)")
    ev.set_defaults(func=_evaluate)


def _dedupe(args) -> int:
    import pandas as pd

    from screenfuse.cell_safety import write_csv

    from screenfuse.matching import SettingsError, dedupe, load_settings_file, preset
    from screenfuse.zh_person import prepare

    if bool(args.settings) == bool(args.preset):
        print("give exactly one of --settings FILE or --preset NAME", file=sys.stderr)
        return 2
    try:
        settings = preset(args.preset) if args.preset else load_settings_file(Path(args.settings))
    except SettingsError as exc:
        print(f"settings: {exc}", file=sys.stderr)
        return 2
    progress = _stage_timer()
    try:
        frame = pd.read_csv(args.input, dtype=str, keep_default_na=False, encoding="utf-8-sig", engine="pyarrow")
    except (pd.errors.EmptyDataError, pd.errors.ParserError, ValueError, UnicodeDecodeError) as exc:
        print(f"input: {args.input} is not a CSV with a header row ({type(exc).__name__}): "
              "give a UTF-8 CSV whose first line names the columns", file=sys.stderr)
        return 2
    progress("read", None)
    if frame.empty:
        print(f"input: {args.input} has a header but no rows: nothing to deduplicate", file=sys.stderr)
        return 2
    if settings.unique_id not in frame.columns and not (settings.preset == "zh_person" and "record_id" in frame.columns):
        print(f"input: no column '{settings.unique_id}' (the record id the settings name) among the file's "
              f"{len(frame.columns)} columns ({', '.join(map(str, frame.columns[:8]))}"
              f"{', …' if len(frame.columns) > 8 else ''}): rename the column or set unique_id", file=sys.stderr)
        return 2
    if settings.preset == "zh_person":
        frame = prepare(frame)
        progress("normalize", None)
    from screenfuse.matching import Model

    model = Model.from_json(Path(args.model).read_text(encoding="utf-8")) if args.model else None
    try:
        result = dedupe(frame, settings, model=model, progress=progress)
    except SettingsError as exc:
        print(f"input: {exc}", file=sys.stderr)
        return 2
    out = result.clusters.rename(columns={"record_id": settings.unique_id})
    write_csv(out, args.out, encoding="utf-8")  # opened in Excel too: no cell it could run
    progress("write", None)
    if args.review:
        write_csv(result.review, args.review, encoding="utf-8")
    if args.links:
        write_csv(result.links, args.links, encoding="utf-8")
    if args.model_out:
        Path(args.model_out).write_text(result.model.to_json(), encoding="utf-8")
    print(f"{len(out)} records → {out['person_id'].nunique()} persons; {result.candidate_pairs} candidate pairs, "
          f"{len(result.link_rows)} links, {len(result.review_rows)} pairs for review", file=sys.stderr)
    print(f"  model: {result.model_source} ({result.model_reason or MODEL_SOURCES[result.model_source]}); prior {result.prior:.3g} for "
          f"{result.population_size} records" + (f", {result.model.matches_per_record:.3f} other records of the same "
                                                  "person per record" if result.model.matches_per_record else ""),
          file=sys.stderr)
    for stats in result.rule_stats:
        refined = ""
        if stats.refined_with or stats.capped_blocks:
            refined = (f"; estimated {stats.estimated} before refinement"
                       + (f", blocks over {stats.refined_above} split by {stats.refined_with}" if stats.refined_with else "")
                       + (f" (the pairs the model learns from), and also by {stats.also_split_by}" if stats.also_split_by else "")
                       + (f", {stats.capped_blocks} blocks still too large left out" if stats.capped_blocks else "")
                       + f" → {stats.estimated_after}")
        print(f"  blocking {stats.rule}: {stats.pairs} pairs ({stats.new_pairs} new)" + refined
              + (f", {stats.skipped_blocks} blocks over max_block_size skipped" if stats.skipped_blocks else ""),
              file=sys.stderr)
    for finding in result.context:
        print(f"  context {finding.describe()}", file=sys.stderr)
    for name, rate in result.model.group_rates.items():  # comparisons that move together (matching/groups.py)
        members = ", ".join(c.column for c in result.model.comparisons if c.group == name)
        print(f"  group {members}: scored as one piece of evidence (all differ in {rate:.1%} of the pairs the other "
              f"comparisons settle: a move counts once)", file=sys.stderr)
    if args.truth:
        from screenfuse.matching.evaluate import blocking_recall

        truth = pd.read_csv(args.truth, dtype=str, keep_default_na=False)
        true_col = args.truth_column or next((c for c in truth.columns if c != settings.unique_id), None)
        if settings.unique_id not in truth.columns or true_col is None:
            print(f"--truth needs the column {settings.unique_id} and a true-entity column (--truth-column)", file=sys.stderr)
            return 2
        print("blocking recall against the truth (share of true pairs each rule makes a candidate):", file=sys.stderr)
        for row in blocking_recall(frame, settings, truth.set_index(settings.unique_id)[true_col]):
            pairs = f"{row['pairs']} pairs, " if row["pairs"] is not None else ""
            after = ""
            if row.get("pairs_after") is not None and row["pairs_after"] != row["pairs"]:
                after = (f"; after refinement {row['pairs_after']} pairs, {row['true_pairs_found_after']} true pairs, "
                         f"recall {row['recall_after']:.4f} (cost {row['recall'] - row['recall_after']:.4f})")
            print(f"  {row['rule']}: {pairs}{row['true_pairs_found']} true pairs, recall {row['recall']:.4f}{after}",
                  file=sys.stderr)
    return 0


def _stage_timer():
    """Staged timings on stderr, so long runs show where they are."""
    import time

    last = [time.perf_counter()]

    def progress(stage: str, seconds: float | None) -> None:
        now = time.perf_counter()
        took = seconds if seconds is not None else now - last[0]
        last[0] = now
        print(f"[{stage}] {took:.2f}s", file=sys.stderr, flush=True)

    return progress


def _evaluate(args) -> int:
    import pandas as pd

    from screenfuse.matching.evaluate import pairwise_scores

    out = pd.read_csv(args.output, dtype=str, keep_default_na=False)
    truth = pd.read_csv(args.truth, dtype=str, keep_default_na=False)
    id_col = args.id or next((c for c in out.columns if c != "person_id" and c in truth.columns), None)
    true_col = args.truth_column or next((c for c in truth.columns if c != id_col), None)
    if id_col is None or true_col is None or "person_id" not in out.columns:
        print("OUT needs the id column and person_id; TRUTH needs the same id column and a true-entity column "
              "(name them with --id and --truth-column)", file=sys.stderr)
        return 2
    scores = pairwise_scores(out.set_index(id_col)["person_id"], truth.set_index(id_col)[true_col])
    print(f"records {scores['records']}  true persons {scores['true_persons']}  predicted persons {scores['predicted_persons']}")
    print(f"pairwise precision {scores['precision']:.4f}  recall {scores['recall']:.4f}  F1 {scores['f1']:.4f}")
    print(f"persons split over several ids {scores['split_persons']}  ids merging several persons {scores['merged_persons']}")
    return 0
