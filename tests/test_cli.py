"""The command line without Airflow: generate, db upgrade, run one batch, summarize (on SQLite and
PostgreSQL)."""
import numpy as np
import pandas as pd

from pg_server import PASSWORD
from screenfuse import schema
from screenfuse.cli import main
from screenfuse.matching.evaluate import pairwise_scores


def test_generate_run_summary(screenfuse_home, warehouse_url, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", warehouse_url)
    assert main(["summary"]) == 1  # nothing published yet
    assert "the warehouse is empty" in capsys.readouterr().out
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # run from any folder: generate writes where run reads ($SCREENFUSE_HOME)
    assert main(["generate", "--people", "300", "--seed", "3"]) == 0
    assert list(elsewhere.iterdir()) == []
    assert (screenfuse_home / "truth" / "people.csv").is_file()
    assert list((screenfuse_home / "landing" / "checkpoint").iterdir())
    assert main(["run", "--interval-end", "2020-02-10T13:00"]) == 2  # an interval end needs its offset
    capsys.readouterr()
    assert main(["run", "--interval-end", "2020-02-10T13:00:00+00:00"]) == 2  # the schema comes first
    err = capsys.readouterr().err
    head = schema.head_revision()
    assert err == f'screenfuse: error: warehouse at revision empty, code expects {head} — fix: run "screenfuse db upgrade"\n'
    assert not (screenfuse_home / "work" / "20200210T1300Z").exists()  # stopped before doing anything
    assert main(["db", "upgrade"]) == 0
    upgraded = capsys.readouterr().out
    # files written a moment ago may still be being written: left for the next run, which says so
    monkeypatch.setenv("SCREENFUSE_SETTLE_SECONDS", "3600")
    assert main(["run", "--interval-end", "2020-02-10T12:00:00+00:00"]) == 0
    out = capsys.readouterr().out
    assert "0 rows read" in out and "21 file(s) not read yet: changed in the last 3600 s" in out
    monkeypatch.setenv("SCREENFUSE_SETTLE_SECONDS", "0")
    assert main(["run", "--interval-end", "2020-02-10T13:00:00+00:00"]) == 0
    assert main(["summary"]) == 0
    out = capsys.readouterr().out
    assert f"empty → {head} (upgraded)" in upgraded and PASSWORD not in upgraded + out  # the URL is printed without its password
    assert "batch 20200210T1300Z published" in out and "not read yet" not in out
    assert "every row accounted for (read = accepted + quarantined): yes" in out
    assert (screenfuse_home / "outbox" / "20200210T1300Z").is_dir()


def test_dedupe_and_evaluate_a_chinese_csv(tmp_path, capsys):
    flat, out = tmp_path / "records.csv", tmp_path / "persons.csv"
    assert main(["generate", "--people", "2500", "--seed", "4", "--flat", str(flat), "--truth", str(tmp_path)]) == 0
    truth = tmp_path / "flat_truth.csv"
    assert main(["dedupe", str(flat), "--preset", "zh_person", "--out", str(out), "--truth", str(truth)]) == 0
    err = capsys.readouterr().err
    assert "[block]" in err and "[write]" in err  # staged progress
    recalls = {line.split(":")[0].strip(): float(line.rsplit("recall", 1)[1]) for line in err.splitlines() if "recall" in line and ":" in line and "true pairs," in line}
    assert recalls["id_number"] < recalls["all rules"] <= 1.0 and recalls["all rules"] > 0.95
    persons = pd.read_csv(out, dtype=str)
    assert list(persons.columns) == ["record_id", "person_id"] and len(persons) == len(pd.read_csv(flat))
    assert main(["evaluate", str(out), str(truth)]) == 0
    printed = capsys.readouterr().out
    recall, f1 = (float(printed.split(f"{word} ")[1].split()[0]) for word in ("recall", "F1"))
    assert f1 > 0.97 and recall > 0.95
    assert all(r <= recalls["all rules"] for r in recalls.values())


def test_dedupe_any_csv_with_settings(tmp_path, capsys):
    """Non-Chinese records, the settings format of docs/matching.md, weights learned by EM."""
    rng = np.random.default_rng(8)
    given, surnames = ["john", "mary", "peter", "anna", "james", "linda", "paul", "susan"], ["smith", "jones", "brown", "taylor", "wilson", "evans"]
    rows = []
    for k in range(400):
        person = {"given_name": rng.choice(given), "surname": rng.choice(surnames),
                  "date_of_birth": f"19{rng.integers(40, 99)}{rng.integers(1, 13):02d}{rng.integers(1, 29):02d}",
                  "soc_sec_id": f"{rng.integers(1_000_000, 9_999_999)}", "postcode": f"{rng.integers(2000, 2999)}"}
        for copy in range(1 + k % 2):
            row = dict(person, rec_id=f"r{k}-{copy}", true_id=k)
            if copy:  # the duplicate has one typo or one gap
                field = rng.choice(["given_name", "surname", "soc_sec_id", "postcode"])
                row[field] = "" if field == "postcode" else row[field][:-1] + "x"
            rows.append(row)
    data = pd.DataFrame(rows)
    data.drop(columns="true_id").to_csv(tmp_path / "in.csv", index=False)
    (tmp_path / "settings.yaml").write_text(
        "unique_id: rec_id\nblocking:\n  - [soc_sec_id]\n  - [given_name, surname]\n  - [date_of_birth]\n"
        "comparisons:\n  - {column: given_name, method: jaro_winkler}\n  - {column: surname, method: jaro_winkler}\n"
        "  - {column: date_of_birth, method: date}\n  - {column: soc_sec_id, method: edit_distance}\n"
        "  - {column: postcode, method: exact}\n", encoding="utf-8")
    assert main(["dedupe", str(tmp_path / "in.csv"), "--settings", str(tmp_path / "settings.yaml"),
                 "--out", str(tmp_path / "out.csv")]) == 0
    out = pd.read_csv(tmp_path / "out.csv", dtype=str)
    assert list(out.columns) == ["rec_id", "person_id"]
    scores = pairwise_scores(out.set_index("rec_id")["person_id"], data.set_index("rec_id")["true_id"])
    assert scores["f1"] > 0.95
    (tmp_path / "bad.yaml").write_text("unique_id: rec_id\nblocking: [[soc_sec_id]]\ncomparisons:\n  - {column: postcode, method: soundex}\n")
    assert main(["dedupe", str(tmp_path / "in.csv"), "--settings", str(tmp_path / "bad.yaml"), "--out", str(tmp_path / "o.csv")]) == 2
    assert "comparisons[0].method" in capsys.readouterr().err


def test_summary_into_a_closed_pipe_and_an_unreachable_warehouse_are_one_line_or_silent(tmp_path):
    """`screenfuse summary | head -1` ends quietly (no BrokenPipeError); a warehouse that refuses
    the connection is one line naming SCREENFUSE_WAREHOUSE_URL, with no traceback."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    cli = str(Path(sys.executable).with_name("screenfuse"))
    env = dict(os.environ, SCREENFUSE_HOME=str(tmp_path / "data"),
               SCREENFUSE_WAREHOUSE_URL=f"sqlite:///{tmp_path}/w.db")
    subprocess.run([cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    piped = subprocess.run(f"'{cli}' summary | head -c 10", shell=True, env=env, capture_output=True, text=True)
    assert "BrokenPipe" not in piped.stderr and "Traceback" not in piped.stderr
    down = subprocess.run([cli, "summary"], capture_output=True, text=True,
                          env=dict(env, SCREENFUSE_WAREHOUSE_URL="postgresql+psycopg://u:pw@127.0.0.1:9/x"))
    assert down.returncode == 2 and len(down.stderr.strip().splitlines()) == 1
    assert "SCREENFUSE_WAREHOUSE_URL" in down.stderr and "Traceback" not in down.stderr and "pw" not in down.stderr


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path, monkeypatch):
    class GoneReader:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setenv("SCREENFUSE_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", f"sqlite:///{tmp_path}/w.db")
    assert main(["db", "upgrade"]) == 0
    monkeypatch.setattr("sys.stdout", GoneReader())
    assert main(["summary"]) == 0  # no BrokenPipeError out of main


def test_dedupe_on_a_file_it_cannot_use_says_what_to_do_in_one_line(tmp_path, capsys):
    cases = {"empty.csv": "", "other.csv": "a,b\n1,2\n", "header.csv": "record_id,name\n"}
    expected = {"empty.csv": "not a CSV with a header row", "other.csv": "no column 'record_id'",
                "header.csv": "no rows"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert main(["dedupe", str(tmp_path / name), "--preset", "zh_person", "--out", str(tmp_path / "o.csv")]) == 2
        err = capsys.readouterr().err
        assert expected[name] in err and "Traceback" not in err, name
        assert not (tmp_path / "o.csv").exists()


def test_a_missing_landing_folder_stops_the_run_instead_of_reporting_every_unit_silent(tmp_path, monkeypatch, capsys):
    import sqlalchemy as sa

    monkeypatch.setenv("SCREENFUSE_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", f"sqlite:///{tmp_path}/w.db")
    monkeypatch.setenv("SCREENFUSE_LANDING", str(tmp_path / "not-mounted"))
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["run", "--interval-end", "2020-02-11T16:00:00+00:00"]) == 2
    err = capsys.readouterr().err
    assert "not-mounted does not exist" in err and len(err.strip().splitlines()) == 1
    with sa.create_engine(f"sqlite:///{tmp_path}/w.db").connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM run_log")).scalar() == 0
        assert conn.execute(sa.text("SELECT COUNT(*) FROM batch_stage")).scalar() == 0  # no attempt begun


def _commands(parser, path=()):
    """(command path, parser) of every sub-command, depth first."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield (*path, name), child
                yield from _commands(child, (*path, name))


def test_every_option_has_help_and_the_help_shows_defaults():
    from screenfuse.cli import build_parser

    parser = build_parser()
    commands = dict(_commands(parser))
    assert {("review", "decide"), ("report",), ("generate",), ("run",), ("summary",)} <= set(commands)
    missing = [(" ".join(path), action.dest) for path, command in commands.items() for action in command._actions
               if action.dest not in ("help", "command", "review_action") and not action.help]
    assert missing == []
    for command in commands.values():  # a default said once: by the help, else by the formatter
        assert "(default: None)" not in command.format_help() and "(default: )" not in command.format_help()
    text = " ".join(commands[("generate",)].format_help().split())
    assert "(default: 3000)" in text and "(default: the one `screenfuse run` reads" in text
    assert "(default: None)" not in text


def test_the_command_leaves_what_it_loaded_to_the_system_at_exit(tmp_path, monkeypatch):
    """`screenfuse` (the installed script and `python -m screenfuse.cli`) runs `console`: main's
    code, with the objects frozen so Python's shutdown does not collect them (1.1 s an hour)."""
    import gc
    import sys
    from pathlib import Path

    from screenfuse.cli import console

    monkeypatch.setenv("SCREENFUSE_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", f"sqlite:///{tmp_path}/w.db")
    gc.unfreeze()
    try:
        assert console(["db", "upgrade"]) == 0  # main's code comes out
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    # the warehouse's connections were closed first: the write-ahead log folded in and gone
    assert (tmp_path / "w.db").exists() and not (tmp_path / "w.db-wal").exists()
    assert "from screenfuse.cli import console" in Path(sys.executable).with_name("screenfuse").read_text()
