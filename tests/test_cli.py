"""The command line without Airflow: generate, run one batch, summarize."""
from screenfuse.cli import main


def test_generate_run_summary(screenfuse_home, capsys):
    assert main(["summary"]) == 1  # nothing published yet
    assert main(["generate", "--people", "300", "--seed", "3", "--out", str(screenfuse_home / "landing"),
                 "--truth", str(screenfuse_home / "truth")]) == 0
    assert main(["run", "--interval-end", "2020-02-10T13:00"]) == 2  # an interval end needs its offset
    assert main(["run", "--interval-end", "2020-02-10T13:00:00+00:00"]) == 0
    assert main(["summary"]) == 0
    out = capsys.readouterr().out
    assert "batch 20200210T1300Z published" in out
    assert "every row accounted for (read = accepted + quarantined): yes" in out
    assert (screenfuse_home / "outbox" / "20200210T1300Z").is_dir()
