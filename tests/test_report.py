"""The report (Markdown and HTML) from small fake results folders, and the CLI's timing and setting records."""

import base64
import dataclasses
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from xgnn_jax.study import cli, report, results
from xgnn_jax.study.claims import CLAIMS
from xgnn_jax.study.registry import Study, run_study
from xgnn_jax.study.verdict import Number, verdict

# A valid 1x1 PNG: the report embeds figures, it does not draw them.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")


@dataclasses.dataclass(frozen=True)
class Cfg:
    seed: int = 0
    seeds: int = 4
    lr: float = 0.5

    ESTIMATED_SECONDS = {"quick": 7, "full": 70}

    @classmethod
    def full(cls):
        return cls(seeds=100)


def _run_a(config, out_dir=None, progress=True):
    if out_dir is not None:
        for f in ("errors.png", "extra.png"):
            (Path(out_dir) / f).write_bytes(PNG)
    vs = [verdict("C8", True, "Does one wide layer approximate sin?", "width 4: 0.1; width 64: 0.01",
                  conditional=True, conditions="trained with lr 0.5 only; widths up to 64",
                  figures=("errors.png",), answer="Yes: the error falls as the layer widens.",
                  numbers=(Number("median error at width 64", 0.0123, 0.01, 0.015, "IQR over 4 seeds"),)),
          verdict("C17", True, "Does GD stop in local minima?", "12 of 128 restarts stuck; escape costs ...",
                  figures=("errors.png",)),
          verdict("C17.traps", True, "Are the stuck points true minima?", "12 of 128 restarts stuck; escape costs ...")]
    return results.finish(A, config, {"verdicts": vs}, out_dir, wall_time_s=0.1,
                          tables={"per_restart": {"restart": [0, 1, 2], "final_loss": [0.1, 0.2, 0.3]}})


def _run_b(config, out_dir=None, progress=True):
    vs = [verdict("C8", False, "Are several layers easier to train than one very wide one?",
                  "deep 0.01 vs wide 0.02", numbers=(Number("success rate", 0.75, 0.5, 0.9, "95% Wilson"),))]
    return results.finish(B, config, {"verdicts": vs}, out_dir, wall_time_s=0.1)


A = Study("study_a", "Study A", ("C8", "C17"), Cfg, _run_a, order=1)
B = Study("study_b", "Study B", ("C8",), Cfg, _run_b, order=2)
STUDIES = {"study_a": A, "study_b": B}


@pytest.fixture
def folder(tmp_path):
    run_study(A, Cfg(), results_root=tmp_path, progress=False)
    run_study(B, Cfg(lr=4.0), results_root=tmp_path, progress=False)
    return tmp_path


def test_reconcile_keeps_the_same_word_or_the_weaker_one():
    holds, cond = {"verdict": "holds"}, {"verdict": "holds under conditions"}
    fails = {"verdict": "does not hold"}
    assert report.reconcile([("a", holds), ("b", holds)])[0] == "holds"
    assert report.reconcile([("a", holds), ("b", cond)])[0] == "holds under conditions"
    word, note = report.reconcile([("a", cond), ("b", fails)])
    assert word == "does not hold" and "`a`" in note and "`b`" in note and "weaker" in note


def test_answer_falls_back_to_a_sentence_from_word_and_question():
    assert report.answer_of({"answer": "Yes.", "verdict": "holds"}) == "Yes."
    assert report.answer_of({"verdict": "does not hold", "question": "Is it linear?"}) == "Is it linear? No."


def test_markdown_reads_claim_by_claim(folder):
    text = report.write_report(folder, studies=STUDIES).read_text()
    for cid in CLAIMS:
        assert f"| [{cid}](#claim-{cid.lower()}) |" in text
    # the full question (no "..." cut) and the condition in a few words, in the at-a-glance table
    assert "| [C17.traps](#claim-c17-traps) | Are the stuck points true minima? | **holds** |" in text
    assert "| **holds under conditions** | trained with lr 0.5 only |" not in text  # C8 is reconciled...
    assert re.search(r"\| \[C8\]\(#claim-c8\) \| Universal approximation \| \*\*does not hold\*\* \| "
                     r"trained with lr 0.5 only \|", text)
    assert "Measured by 2 studies that differ" in text and "#### Part 2: `study_b`" in text
    assert "| median error at width 64 | 0.0123 | 0.01 to 0.015 (IQR over 4 seeds) |" in text
    assert "Yes: the error falls as the layer widens." in text
    assert "- trained with lr 0.5 only\n- widths up to 64" in text  # conditions as a list
    assert text.count("](study_a/errors.png)") == 1  # each figure once...
    assert "shown under [C8](#claim-c8)" in text  # ...and pointed to from the other claim
    assert "](study_a/extra.png)" in text  # a figure no verdict names still appears once
    assert "The same measurement as [C17](#claim-c17)" in text  # no repeated text
    assert "<details>" in text and "</details>" in text
    assert "[per_restart.csv](study_a/per_restart.csv)" in text  # the tables a reader filters or plots


def test_provenance_names_setting_commit_and_overrides(folder):
    text = report.write_report(folder, studies=STUDIES).read_text()
    assert "| setting | quick; run with overridden options: `study_b` |" in text
    assert "(study [`study_b`](study_b/), **quick with overrides lr=4.0**)" in text  # the section is marked
    for what in ("| commit |", "| versions | jax ", "| devices |", "| seeds | 0 |", "| date |"):
        assert what in text
    meta = json.loads((folder / "study_a" / "meta.json").read_text())
    meta.update(mode="full", overrides={})  # the CLI's record wins over the config comparison
    (folder / "study_a" / "meta.json").write_text(json.dumps(meta))
    text = report.write_report(folder, studies=STUDIES).read_text()
    assert "mixed: full (1 study), quick (1 study)" in text


def test_inconsistent_folder_is_flagged_and_missing_folder_is_an_error(folder, tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "discover", lambda: STUDIES)
    (folder / "study_b" / "stray.txt").write_text("left from another run")
    text = report.write_report(folder, studies=STUDIES).read_text()
    assert "Inconsistent results folders" in text and "stray.txt" in text
    with pytest.raises(FileNotFoundError, match="no such folder"):
        report.write_report(tmp_path / "nope")
    with pytest.raises(SystemExit, match="no such folder"):
        cli.main(["report", "--results", str(tmp_path / "nope")])


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.hrefs, self.imgs, self.claims, self.rows = set(), [], [], [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
        if tag == "img":
            self.imgs.append(a)
        if tag == "section" and "data-claim" in a:
            self.claims.append(a["data-claim"])
        if tag == "tr" and "data-verdict" in a:
            self.rows += 1


def test_html_is_self_contained_with_every_claim_and_figure_and_no_broken_link(folder):
    report.write_report(folder, studies=STUDIES)
    page = (folder / "REPORT.html").read_text()
    p = _Links()
    p.feed(page)
    assert set(CLAIMS) <= set(p.claims) and {"C17.traps"} <= set(p.claims)
    assert p.rows == len(p.claims)  # one row per claim in the filterable table
    assert sorted(i["data-figure"] for i in p.imgs) == ["study_a/errors.png", "study_a/extra.png"]
    assert all(i["src"].startswith("data:image/png;base64,") for i in p.imgs)
    for href in p.hrefs:
        if href.startswith("#"):
            assert href[1:] in p.ids, href
        else:
            assert not re.match(r"^[a-z]+://", href) and (folder / href).is_file(), href
    assert "function filt()" in page and "function sortBy(" in page


def test_cli_records_setting_and_timing_and_prints_verdicts(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "discover", lambda: STUDIES)
    assert cli.main(["run", "study_b", "--lr", "2", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "C8" in out and "DOES NOT HOLD" in out and "success rate: 0.75 [0.5 to 0.9 (95% Wilson)]" in out
    meta = json.loads((tmp_path / "study_b" / "meta.json").read_text())
    assert meta["mode"] == "quick" and meta["overrides"] == {"lr": 2.0}
    assert results.check_folder(tmp_path / "study_b") == []  # adding the setting keeps the folder whole
    assert not (tmp_path / cli.TIMINGS).exists()  # an overridden run is not a timing of the quick setting
    assert cli.main(["run-all", "--only", "study_a", "--seed", "2", "--results", str(tmp_path), "--quiet"]) == 0
    timings = json.loads((tmp_path / cli.TIMINGS).read_text())
    assert set(timings) == {"study_a"} and timings["study_a"]["quick"] >= 0
    assert cli.estimate(A, "quick", timings)[1] == "measured" and cli.estimate(B, "full", timings) == (70.0,
                                                                                                       "estimated")
    assert (tmp_path / "REPORT.html").is_file()


def test_run_all_started_again_skips_the_studies_whose_results_are_current(tmp_path, capsys, monkeypatch):
    # A killed main job started again goes on where it stopped: a study whose folder holds a whole result of this
    # commit (clean tree), mode, config, XLA flags and device count is not run again; anything else runs.
    from xgnn_jax import provenance
    from xgnn_jax.study import results as results_lib

    clean = {"git_commit": "abc123", "git_dirty": False}
    monkeypatch.setattr(cli, "discover", lambda: STUDIES)
    monkeypatch.setattr(provenance, "git_state", lambda: dict(clean))
    monkeypatch.setattr(results_lib, "git_state", lambda: dict(clean))
    assert cli.main(["run-all", "--results", str(tmp_path), "--quiet"]) == 0
    first = {n: (tmp_path / n).resolve() for n in STUDIES}
    capsys.readouterr()
    assert cli.main(["run-all", "--results", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Running 0 studies" in out and "2 already current" in out and "DOES NOT HOLD" in out  # verdicts shown
    assert {n: (tmp_path / n).resolve() for n in STUDIES} == first  # nothing ran
    assert cli.main(["run-all", "--results", str(tmp_path), "--quiet", "--seed", "3"]) == 0  # another config
    assert all((tmp_path / n).resolve() != first[n] for n in STUDIES)
    again = {n: (tmp_path / n).resolve() for n in STUDIES}
    assert cli.main(["run-all", "--results", str(tmp_path), "--quiet", "--seed", "3", "--rerun"]) == 0
    assert all((tmp_path / n).resolve() != again[n] for n in STUDIES)
    for changed in ({"git_commit": "def456", "git_dirty": False}, {"git_commit": "abc123", "git_dirty": True}):
        clean.update(changed)  # another commit or a dirty tree: run again
        before = (tmp_path / "study_a").resolve()
        assert cli.main(["run-all", "--results", str(tmp_path), "--quiet", "--seed", "3", "--only", "study_a"]) == 0
        assert (tmp_path / "study_a").resolve() != before


def test_cli_reports_a_failing_study_and_still_runs_the_others(tmp_path, capsys, monkeypatch):
    def boom(config, out_dir=None, progress=True):
        raise RuntimeError("boom")

    broken = Study("broken", "Broken", ("C1",), Cfg, boom, order=0)
    monkeypatch.setattr(cli, "discover", lambda: {"broken": broken, **STUDIES})
    assert cli.main(["run-all", "--results", str(tmp_path), "--quiet"]) == 1
    assert (tmp_path / "study_a" / "summary.json").is_file() and (tmp_path / "study_b" / "summary.json").is_file()
    text = (tmp_path / "REPORT.md").read_text()
    assert "## Studies that failed in this run" in text and "`broken`: RuntimeError('boom')" in text
    assert cli.main(["run", "broken", "--results", str(tmp_path)]) == 1


def test_help_names_full_and_results(capsys, monkeypatch):
    monkeypatch.setattr(cli, "discover", lambda: STUDIES)
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    top = capsys.readouterr().out
    assert "--full" in top and "--results" in top
    with pytest.raises(SystemExit):
        cli.main(["run", "study_a", "--help"])
    helptext = capsys.readouterr().out
    assert "--full" in helptext and "--results" in helptext and "--seeds" in helptext


def test_render_script_says_clearly_when_no_browser_is_installed(folder, tmp_path):
    import shutil
    import subprocess

    report.write_report(folder, studies=STUDIES)
    bin_dir = tmp_path / "bin"  # a PATH with the shell tools but no browser
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "basename", "pwd"):
        if shutil.which(tool):
            (bin_dir / tool).symlink_to(shutil.which(tool))
    script = Path(__file__).resolve().parents[1] / "scripts" / "render_report.sh"
    proc = subprocess.run([str(bin_dir / "bash"), str(script), str(folder / "REPORT.html")], capture_output=True,
                          text=True, env={"PATH": str(bin_dir)})
    assert proc.returncode == 3 and "no headless browser found" in proc.stderr and "apt-get install" in proc.stderr
    missing = subprocess.run([str(bin_dir / "bash"), str(script), str(tmp_path / "nope.html")], capture_output=True,
                             text=True, env={"PATH": str(bin_dir)})
    assert missing.returncode == 2 and "build it first" in missing.stderr


@pytest.mark.skipif(not any(__import__("shutil").which(b) for b in ("chromium", "chromium-browser")),
                    reason="no headless Chromium (apt-get install -y chromium)")
def test_the_verdict_table_filters_and_sorts_in_a_real_browser(folder):
    import shutil
    import subprocess

    report.write_report(folder, studies=STUDIES)
    probe = ('<script>document.getElementById("w").value="holds";filt();sortBy(1);const rs=[...document.'
             'querySelectorAll("#glance tbody tr")];document.body.dataset.visible=rs.filter(r=>r.style.display!=='
             '"none").map(r=>r.cells[0].textContent).join(",");document.body.dataset.order=rs.slice(0,2).map(r=>r.'
             'cells[0].textContent).join(",");</script></body></html>')
    page = folder / "probe.html"
    page.write_text((folder / "REPORT.html").read_text().replace("</body></html>", probe))
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    assert 'data-visible="C17.traps,C17"' in dom  # only the "holds" rows stay visible
    assert 'data-order="C7,C17.traps"' in dom  # sorted by title: "Activations ...", "Are the stuck ..."


def test_fraction_numbers_read_as_percentages():
    from xgnn_jax.study.report import number_row

    row = number_row({"name": "proofs", "value": 1.0, "low": 0.9988, "high": 1.0, "interval": "95% Wilson",
                      "unit": "fraction of 3072 runs"})
    assert row == ("proofs", "100% of 3072 runs", "99.9% to 100% (95% Wilson)")
    assert number_row({"name": "p", "value": 0.25, "unit": "p"})[1] == "0.25 p"
