"""Do the verdicts move? Every study's quick setting at several seeds and XLA optimisation levels, claim by claim.

``python -m xgnn_jax stability --seeds 0-4 --opt-levels 1,3`` runs ``run-all --seed N`` once per (level, seed) in a
fresh process (XLA reads its flags when the backend starts), each into its own folder
``<results>/stability/O<level>/seed<N>/``, then compares, for every claim, the verdict word and the verdict's
``facts`` (the discrete findings its conditions name, see :class:`xgnn_jax.study.Verdict`) across the runs.
A verdict "agrees" when every run gives the same word and the same facts.

``--full`` adds the full setting (``run-all --full`` at the first seed, once per level, into
``<results>/stability/full_O<level>/seed<N>/``) and compares its verdicts with the quick runs': does the quick
setting give the answer the full one does?

A run folder whose summaries were written by the same commit, flags, seed and mode is reused, so an interrupted
check resumes where it stopped (and ``run-all`` inside it resumes its studies' sweeps). ``--isa AVX2`` caps the
instruction set XLA's CPU backend uses (``--xla_cpu_max_isa``): an AVX-512 machine then rounds as an AVX2 machine
does.

The table goes to ``<results>/stability/STABILITY.md`` (and ``stability.json``); the report includes it as an
appendix when it is there.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from xgnn_jax.io import atomic_write_bytes, write_json
from xgnn_jax.provenance import git_state

FOLDER = "stability"


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> ``[0, 1, 2, 3, 4]``; ``"0,3,7"`` -> ``[0, 3, 7]``; ranges and lists mix (``"0-2,9"``)."""
    seeds: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = (int(v) for v in part.split("-", 1))
                if hi < lo:
                    raise ValueError
                seeds += list(range(lo, hi + 1))
            else:
                seeds.append(int(part))
        except ValueError:
            raise SystemExit(f"--seeds: expected non-negative ints or ranges such as 0-4 or 0,3,7, got {text!r}") \
                from None
    if not seeds or min(seeds) < 0:
        raise SystemExit(f"--seeds: expected non-negative ints or ranges such as 0-4 or 0,3,7, got {text!r}")
    return sorted(set(seeds))


def parse_levels(text: str) -> list[int]:
    try:
        levels = sorted({int(v) for v in str(text).split(",") if v.strip()})
    except ValueError:
        levels = []
    if not levels or not all(0 <= v <= 3 for v in levels):
        raise SystemExit(f"--opt-levels: expected XLA optimisation levels in 0-3 such as 1,3, got {text!r}")
    return levels


def xla_flags(level: int, isa: str | None, base: str | None = None) -> str:
    """``XLA_FLAGS`` for one run: the caller's flags without any optimisation level or ISA cap, then ours."""
    base = os.environ.get("XLA_FLAGS", "") if base is None else base
    kept = [f for f in base.split() if not f.startswith(("--xla_backend_optimization_level",
                                                          "--xla_cpu_max_isa"))]
    kept.append(f"--xla_backend_optimization_level={level}")
    if isa:
        kept.append(f"--xla_cpu_max_isa={isa}")
    return " ".join(kept)


@dataclasses.dataclass(frozen=True)
class Run:
    level: int
    seed: int
    folder: Path
    mode: str = "quick"  # or "full": the studies' full settings

    @property
    def label(self) -> str:
        return f"{'full ' if self.mode == 'full' else ''}O{self.level}/s{self.seed}"


def _is_current(folder: Path, study: str, seed: int, flags: str, commit: str | None, mode: str = "quick") -> bool:
    """True when ``folder/study`` holds a finished result of this commit, seed, flags and mode (reused, not rerun)."""
    try:
        meta = json.loads((folder / study / "meta.json").read_text())
        json.loads((folder / study / "summary.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return (meta.get("seed") == seed and meta.get("git_commit") == commit and not meta.get("git_dirty")
            and meta.get("mode", "quick") == mode
            and meta.get("environment", {}).get("xla_flags", "").split() == flags.split())


def run_matrix(studies: list[str], seeds: list[int], levels: list[int], results: Path, *, isa: str | None = None,
               quiet: bool = True, full: bool = False) -> list[Run]:
    """Run every study at every (level, seed) in fresh processes, and with ``full`` its full setting at the first
    seed once per level; finished, current folders are reused."""
    commit = git_state().get("git_commit")
    cap = f"_{isa}" if isa else ""
    plan = [Run(level, seed, results / FOLDER / f"O{level}{cap}" / f"seed{seed}") for level in levels for seed in seeds]
    if full:
        plan += [Run(level, seeds[0], results / FOLDER / f"full_O{level}{cap}" / f"seed{seeds[0]}", "full")
                 for level in levels]
    for run in plan:
        flags = xla_flags(run.level, isa)
        todo = [s for s in studies if not _is_current(run.folder, s, run.seed, flags, commit, run.mode)]
        if not todo:
            print(f"[stability] {run.label}: reusing {run.folder}/", flush=True)
            continue
        print(f"[stability] {run.label}: running {', '.join(todo)}", flush=True)
        cmd = [sys.executable, "-m", "xgnn_jax", "run-all", "--seed", str(run.seed), "--results", str(run.folder),
               "--only", ",".join(todo)] + (["--full"] if run.mode == "full" else []) + (["--quiet"] if quiet else [])
        proc = subprocess.run(cmd, env={**os.environ, "XLA_FLAGS": flags})
        if proc.returncode:
            print(f"[stability] {run.label}: run-all exited with {proc.returncode}", file=sys.stderr)
    return plan


def collect(runs: list[Run], studies: list[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """``{(claim, study): {run label: (verdict, facts) or None}}`` from the runs' summaries."""
    table: dict[tuple[str, str], dict[str, Any]] = {}
    for run in runs:
        for study in studies:
            try:
                summary = json.loads((run.folder / study / "summary.json").read_text())
            except (OSError, json.JSONDecodeError):
                continue
            for v in summary.get("verdicts", []):
                table.setdefault((v["claim"], study), {})[run.label] = (v["verdict"], v.get("facts") or {})
    for row in table.values():
        for run in runs:
            row.setdefault(run.label, None)
    return table


def _fmt_fact(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _agreement(got: dict[str, Any]) -> tuple[Counter, list[str], dict[str, dict[str, int]]]:
    """The verdict words' tally, the fact names and the facts that differ (with their tallies) over ``got``."""
    words = Counter(w for w, _ in got.values())
    names = sorted({n for _, facts in got.values() for n in facts})
    moving = {}
    for n in names:
        tally = Counter(_fmt_fact(facts.get(n)) for _, facts in got.values())
        if len(tally) > 1:
            moving[n] = dict(tally)
    return words, names, moving


def compare(table: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (claim, study): whether the verdict word and every fact agree across runs, and the tallies.

    ``agree``: over every run; ``quick_agree``: over the quick runs alone (the seeds and levels); ``full_agrees``
    (None without full runs, whose labels start with ``"full "``): whether the full runs give what the quick runs
    give."""
    rows = []
    for (claim, study), per_run in sorted(table.items(), key=lambda kv: (_claim_key(kv[0][0]), kv[0][1])):
        got = {label: v for label, v in per_run.items() if v is not None}
        missing = sorted(label for label, v in per_run.items() if v is None)
        words, names, moving_facts = _agreement(got)
        quick = {label: v for label, v in got.items() if not label.startswith("full ")}
        q_words, _, q_moving = _agreement(quick)
        has_full = any(label.startswith("full ") for label in per_run)
        agree = len(words) == 1 and not moving_facts and not missing
        quick_agree = len(q_words) == 1 and not q_moving and not any(not m.startswith("full ") for m in missing)
        rows.append({"claim": claim, "study": study, "verdicts": dict(words), "facts": names,
                     "moving_facts": moving_facts, "missing": missing, "agree": agree, "quick_agree": quick_agree,
                     "full_agrees": (agree if quick_agree else None) if has_full else None,
                     "per_run": {label: w for label, (w, _) in got.items()}})
    return rows


def _claim_key(cid: str):
    head, _, tail = cid.partition(".")
    num = int(head[1:]) if head[:1] == "C" and head[1:].isdigit() else 10**6
    return (num, head, tail)


def render(rows: list[dict[str, Any]], runs: list[Run], *, isa: str | None = None) -> str:
    labels = [r.label for r in runs]
    quick = [r for r in runs if r.mode == "quick"]
    full = [r for r in runs if r.mode == "full"]
    seeds = sorted({r.seed for r in quick})
    levels = sorted({r.level for r in quick})
    n_agree = sum(bool(r["quick_agree"]) for r in rows)
    lines = ["# Stability of the verdicts", "",
             f"Every study's quick setting at seeds {', '.join(map(str, seeds))} and XLA optimisation levels "
             f"{', '.join(map(str, levels))}{f' (instruction set capped at {isa})' if isa else ''}: "
             f"{len(quick)} runs. A verdict agrees when every run gives the same word and the same facts.", ""]
    if full:
        lines += [f"The full setting at seed {full[0].seed}, XLA level{'s' if len(full) > 1 else ''} "
                  f"{', '.join(str(r.level) for r in full)}: does it give the quick runs' verdict (word and facts)?",
                  ""]
    lines += [f"**{n_agree} of {len(rows)} verdicts agree" + (" over the seeds and levels" if full else "") + ".**"]
    if full:
        n_full = sum(r["full_agrees"] is True for r in rows)
        lines += ["", f"**The full setting gives the same verdict for {n_full} of {len(rows)}.**"]
    lines += ["", "| claim | study | verdicts over the runs | facts compared | agrees |" + (" full the same |" if full else ""),
              "|---|---|---|---|---|" + ("---|" if full else "")]
    for r in rows:
        words = ", ".join(f"{w} x{n}" for w, n in sorted(r["verdicts"].items(), key=lambda kv: -kv[1]))
        if r["missing"]:
            words += f"; missing in {len(r['missing'])}"
        cells = f"| {r['claim']} | {r['study']} | {words} | {', '.join(r['facts']) or '-'} | " \
                f"{'yes' if r['quick_agree'] else '**no**'} |"
        if full:
            cells += f" {({True: 'yes', False: '**no**', None: '-'})[r['full_agrees']]} |"
        lines.append(cells)
    moving = [r for r in rows if not r["agree"]]
    if moving:
        lines += ["", "## What moves", ""]
        for r in moving:
            lines.append(f"- **{r['claim']}** ({r['study']}): "
                         + "; ".join(f"{label}: {w}" for label, w in sorted(r["per_run"].items())))
            for n, tally in r["moving_facts"].items():
                lines.append(f"  - fact `{n}`: " + "; ".join(f"{v} x{k}" for v, k in tally.items()))
    lines += ["", f"Runs: {', '.join(labels)}.", ""]
    return "\n".join(lines)


def check(*, seeds: str = "0-4", opt_levels: str = "1,3", only: str = "", results: str | Path = "results",
          isa: str | None = None, studies: dict | None = None, full: bool = False) -> int:
    """The ``stability`` command (its flags are parsed by :mod:`xgnn_jax.study.cli`): run the matrix, compare,
    write ``STABILITY.md`` and ``stability.json``; 0 when every verdict agrees (and, with ``full``, the full
    setting gives the same verdicts), else 1."""
    seed_list, levels = parse_seeds(seeds), parse_levels(opt_levels)
    names = list(studies) if studies else []
    if only:
        wanted = [n.strip() for n in only.split(",") if n.strip()]
        unknown = [n for n in wanted if names and n not in names]
        if unknown:
            raise SystemExit(f"--only: unknown studies {unknown}; valid studies: {', '.join(names)}")
        names = wanted
    results = Path(results)
    runs = run_matrix(names, seed_list, levels, results, isa=isa, full=full)
    rows = compare(collect(runs, names))
    text = render(rows, runs, isa=isa)
    out = results / FOLDER
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "STABILITY.md", text.encode())
    write_json(out / "stability.json", {"seeds": seed_list, "opt_levels": levels, "isa": isa, "full": full,
                                        "studies": names, "rows": rows})
    print(text)
    return 0 if all(r["agree"] for r in rows) else 1

