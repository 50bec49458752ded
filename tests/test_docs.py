"""The docs work when pasted: every python block of README.md and docs/*.md runs (each in a fresh process, in a
temporary folder), every shell command names scripts, commands, studies and flags that exist, every link points to
a file inside the repository, and no page refers to notes outside it."""

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def _blocks(lang: str):
    for page in PAGES:
        for i, m in enumerate(b for b in FENCE.finditer(page.read_text()) if b.group(1) == lang):
            yield pytest.param(page, m.group(2), id=f"{page.relative_to(ROOT)}#{i}")


@pytest.mark.parametrize("page, code", list(_blocks("python")))
def test_python_block_runs_as_pasted(page, code, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f"{page.name}: block failed:\n{code}\n--- stderr:\n{proc.stderr[-3000:]}"


@pytest.fixture(scope="module")
def cli_names():
    from xgnn_jax.study import cli

    studies = cli.discover()
    flags = {"list": cli.ListCmd, "run-all": cli.RunAllCmd, "report": cli.ReportCmd,
             "stability": cli.StabilityCmd}
    return studies, {k: {f.name for f in dataclasses.fields(t)} for k, t in flags.items()}


def _flags_ok(cmd: str, words: list[str], studies, flags) -> list[str]:
    bad = []
    names = {n.replace("-", "_") for n in (w[2:] for w in words if w.startswith("--"))} - {"help"}
    if cmd == "run":
        study = next((w for w in words if not w.startswith("-")), None)
        if study not in studies:
            return [f"run: unknown study {study!r}"]
        known = {f.name for f in dataclasses.fields(studies[study].config)} | {"full", "results", "quiet"}
    else:
        known = flags[cmd]
    bad += [f"{cmd}: unknown flag --{n}" for n in sorted(names - known)]
    if "--only" in words:
        listed = words[words.index("--only") + 1].split(",")
        bad += [f"{cmd} --only: unknown study {s!r}" for s in listed if s not in studies]
    return bad


@pytest.mark.parametrize("page, code", list(_blocks("bash")))
def test_shell_commands_name_existing_scripts_and_flags(page, code, cli_names):
    from xgnn_jax.study import cli

    studies, flags = cli_names
    problems = []
    for line in code.splitlines():
        line = line.split(" #")[0].strip()
        if not line:
            continue
        words = line.split()
        problems += [f"{w}: no such script" for w in words if w.startswith("scripts/") and not (ROOT / w).is_file()]
        if "xgnn_jax" in words and words[words.index("xgnn_jax") - 1] == "-m":
            rest = words[words.index("xgnn_jax") + 1:]
            if not rest or rest[0].startswith("-"):
                continue
            if rest[0] not in cli.COMMANDS:
                problems.append(f"unknown command {rest[0]!r}")
            else:
                problems += _flags_ok(rest[0], rest[1:], studies, flags)
    assert not problems, f"{page.name}: {problems}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_stay_inside_the_repository_and_exist(page):
    text = page.read_text()
    problems = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+://", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        if ROOT not in path.parents and path != ROOT:
            problems.append(f"{target}: outside the repository")
        elif not path.exists():
            problems.append(f"{target}: no such file")
    problems += [f"refers to {m!r}, outside the repository" for m in re.findall(r"/work/\S+|PITFALLS\.md", text)]
    problems += [f"project-tracker wording {m!r}" for m in re.findall(r"\bissues? \d+\b", text)]
    problems += ["imports pandas (not a dependency)"] * bool(re.search(r"^\s*import pandas", text, re.M))
    assert not problems, f"{page.name}: {problems}"


def test_readme_names_the_textbook_and_the_article():
    text = (ROOT / "README.md").read_text()
    assert "Zhou Zhihua" in text and "*Machine Learning*" in text and "chapter 5" in text
    assert "西瓜书重温(五): 神经网络手推版" in text
