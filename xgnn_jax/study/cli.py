"""Command line: ``python -m xgnn_jax {list, run, run-all, report, stability}``, one tyro parser for all of it.

    python -m xgnn_jax list                          # the studies, their claims, options and run times
    python -m xgnn_jax run xor_networks --seeds 256  # one study, quick setting with an overridden option
    python -m xgnn_jax run zero_init --full          # one study, full setting
    python -m xgnn_jax run zero_init --help          # that study's options (every Config field is a flag)
    python -m xgnn_jax run-all --full --only a,b --results DIR   # every (or some) study, then the report
    python -m xgnn_jax report --results DIR          # rebuild REPORT.md and REPORT.html from the results folders
    python -m xgnn_jax stability --seeds 0-4 --opt-levels 1,3    # do the verdicts move?

``run`` and ``run-all`` print each study's verdicts (claim, word, one-sentence answer, key numbers), refresh the
report, record the setting (``mode``: quick or full, and the overridden options) in the study's ``meta.json``, and
the wall time in ``results/TIMINGS.json``, from which ``list`` and ``run-all`` estimate run times. A study that
raises is reported and the others still run; the exit code is 1 when any failed, 2 for an invalid option.

Studies are the modules of the ``xgnn_jax.studies`` package that define ``STUDY``; they are found at run time
(``importlib``), so the library itself never imports a study.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import importlib
import json
import os
import pkgutil
import sys
import time
import traceback
from pathlib import Path
from typing import Annotated, Any, Union

from xgnn_jax import provenance
from xgnn_jax.io import to_jsonable, write_json
from xgnn_jax.study import report
from xgnn_jax.study.registry import ConfigError, Study, run_study

COMMANDS = ("list", "run", "run-all", "report", "stability")
TIMINGS = "TIMINGS.json"


def discover() -> dict[str, Study]:
    """All studies, by name, in report order."""
    try:
        pkg = importlib.import_module("xgnn_jax.studies")
    except ImportError as e:  # pragma: no cover - only when the package is installed without its studies
        raise SystemExit(f"cannot import the xgnn_jax.studies package ({e}); run from the repository root") from e
    found = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"xgnn_jax.studies.{info.name}")
        study = getattr(mod, "STUDY", None)
        if isinstance(study, Study):
            found.append(study)
    found.sort(key=lambda s: (s.order, s.name))
    return {s.name: s for s in found}


# ---------------------------------------------------------------------------------------------- commands
@dataclasses.dataclass(frozen=True)
class ListCmd:
    """The studies: claims, title, options and estimated quick/full run times (measured where a run was timed)."""

    results: Path = Path("results")  # results folder whose TIMINGS.json gives measured times


@dataclasses.dataclass(frozen=True)
class RunAllCmd:
    """Run every study (quick setting by default), print their verdicts, then write the report."""

    full: bool = False  # every study's full setting (much longer)
    only: str = ""  # comma-separated study names to run (default: all)
    results: Path = Path("results")  # results folder
    quiet: bool = False  # no progress bars
    seed: int | None = None  # every study's seed (default: each config's own)
    rerun: bool = False  # also run studies whose results are current (same commit, config, flags and devices)


@dataclasses.dataclass(frozen=True)
class ReportCmd:
    """Rebuild REPORT.md and REPORT.html from the results folders (an error if the folder does not exist)."""

    results: Path = Path("results")  # results folder


@dataclasses.dataclass(frozen=True)
class StabilityCmd:
    """Run every study's quick setting at several seeds and XLA optimisation levels; do the verdicts agree?"""

    seeds: str = "0-4"  # seeds, e.g. 0-4 or 0,3,7
    opt_levels: str = "1,3"  # XLA optimisation levels
    only: str = ""  # comma-separated study names (default: all)
    results: Path = Path("results")  # results folder (runs go to RESULTS/stability/)
    isa: str | None = None  # cap XLA's CPU instruction set, e.g. AVX2 (default: the machine's)
    full: bool = False  # also run the full setting (first seed, each level) and compare it with the quick runs


def _run_cmd_type(studies: dict[str, Study], full: bool) -> type:
    """``run STUDY [--full] [--results DIR] [--FIELD VALUE ...]``: the study is a subcommand whose flags are its
    Config's fields, with the quick (or, after ``--full``, the full) setting as defaults."""
    import tyro

    options = []
    for s in studies.values():
        default = s.full_config() if full else s.quick_config()
        desc = (f"{s.title} (claims {', '.join(s.claims) or '-'}). Defaults shown are the "
                f"{'full' if full else 'quick'} setting; pass --full for the full one.")
        options.append(Annotated[Annotated[s.config, tyro.conf.FlagConversionOff],
                                 tyro.conf.subcommand(s.name, default=default, description=desc)])
    if len(options) > 1:
        study_field = ("study", Union[tuple(options)])  # noqa: UP007 (built at run time)
    else:  # one study (parse_config): its flags directly, no subcommand name
        s = next(iter(studies.values()))
        default = s.full_config() if full else s.quick_config()
        study_field = ("study", s.config, dataclasses.field(default=default))
    fields = [study_field,
              ("full", bool, dataclasses.field(default=False)),
              ("results", Path, dataclasses.field(default=Path("results"))),
              ("quiet", bool, dataclasses.field(default=False))]
    return dataclasses.make_dataclass("RunCmd", fields, frozen=True,
                                      namespace={"__doc__": "Run one study, print its verdicts, refresh the report."
                                                            " --full: the full setting; --results DIR: where."})


def build_parser_type(studies: dict[str, Study], full: bool = False):
    """The one CLI type: a union of the commands, each a tyro subcommand."""
    import tyro

    cmds = [(ListCmd, "list"), (_run_cmd_type(studies, full), "run"), (RunAllCmd, "run-all"),
            (ReportCmd, "report"), (StabilityCmd, "stability")]
    return Union[tuple(Annotated[t, tyro.conf.subcommand(n)] for t, n in cmds)]  # noqa: UP007


def parse(argv: list[str], studies: dict[str, Study]):
    """Parse a command line into one of the command dataclasses (``RunCmd.study`` is the study's config)."""
    import tyro

    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        raise SystemExit(f"unknown command {argv[0]!r}; valid commands: {', '.join(COMMANDS)}")
    if len(argv) > 1 and argv[0] == "run" and not argv[1].startswith("-") and argv[1] not in studies:
        raise SystemExit(f"unknown study {argv[1]!r}; valid studies: {', '.join(studies)}")
    full = argv[:1] == ["run"] and "--full" in argv
    return tyro.cli(build_parser_type(studies, full), args=argv, prog="python -m xgnn_jax",
                    description="\n\n".join(__doc__.split("\n\n")[:2]),
                    config=(tyro.conf.CascadeSubcommandArgs, tyro.conf.OmitArgPrefixes,
                            tyro.conf.OmitSubcommandPrefixes, tyro.conf.FlagCreatePairsOff))


def parse_config(study: Study, argv: list[str] | None = None):
    """``(config, full)`` for one study from ``[--full] [--FIELD VALUE ...]`` (the flags of ``run STUDY``)."""
    cmd = parse(["run", *(sys.argv[1:] if argv is None else argv)], {study.name: study})
    return cmd.study, cmd.full


# ---------------------------------------------------------------------------------------------- timings
def overrides_of(config: Any, default: Any) -> dict[str, Any]:
    """The fields of ``config`` that differ from ``default``, as JSON values."""
    a, b = to_jsonable(config), to_jsonable(default)
    return {k: v for k, v in a.items() if b.get(k) != v}


def read_timings(results: Path) -> dict[str, dict[str, float]]:
    try:
        data = json.loads((Path(results) / TIMINGS).read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def record_timing(results: Path, name: str, mode: str, seconds: float) -> None:
    """Write a study's measured wall time for ``mode`` into ``results/TIMINGS.json`` (last run wins)."""
    data = read_timings(results)
    data.setdefault(name, {})[mode] = round(float(seconds), 1)
    write_json(Path(results) / TIMINGS, data)


def estimate(study: Study, mode: str, timings: dict) -> tuple[float | None, str]:
    """``(seconds, source)``: the measured time of the last run in this mode, else the Config's estimate."""
    measured = (timings.get(study.name) or {}).get(mode)
    if isinstance(measured, (int, float)):
        return float(measured), "measured"
    est = getattr(study.config, "ESTIMATED_SECONDS", {}).get(mode)
    return (float(est), "estimated") if est is not None else (None, "unknown")


# ---------------------------------------------------------------------------------------------- running
def print_verdicts(summary: dict) -> None:
    """Each verdict as ``claim  word  answer``, with its key numbers below."""
    for v in summary.get("verdicts", []):
        print(f"  {v['claim']:12s} {v['verdict'].upper():24s} {report.answer_of(v)}")
        for n in v.get("numbers", []):
            name, value, interval = report.number_row(n)
            print(f"  {'':12s} {'':24s}   {name}: {value}" + (f" [{interval}]" if interval else ""))


def run_one(study: Study, config: Any, *, mode: str, overrides: dict, results: Path, quiet: bool) -> dict:
    """Run one study into ``results/<name>``, then record its setting in its meta.json and its time."""
    t0 = time.perf_counter()
    summary = run_study(study, config, results_root=results, progress=not quiet)
    seconds = time.perf_counter() - t0
    meta_path = results / study.name / "meta.json"
    try:  # meta.json is not among the hashed files, so adding the setting keeps the folder consistent
        meta = json.loads(meta_path.read_text())
        meta.update(mode=mode, overrides=overrides, command="python -m xgnn_jax " + " ".join(sys.argv[1:]))
        write_json(meta_path, meta)
    except (OSError, json.JSONDecodeError):
        pass
    if set(overrides) <= {"seed"}:  # a seed does not change the work; other overrides may
        record_timing(results, study.name, mode, seconds)
    print(f"[{study.name}] {mode}{' with overrides ' + json.dumps(overrides) if overrides else ''}, "
          f"{seconds:.1f} s:")
    print_verdicts(summary)
    return summary


def current_summary(results: Path, study: Study, config: Any, mode: str) -> dict | None:
    """The summary of ``results/<study>`` when running the study again would only reproduce it: a whole folder
    (:func:`results.check_folder`) of this mode and config, written by this commit from a clean tree, with the
    same XLA flags and device count as now. None otherwise (then the study runs)."""
    import jax

    from xgnn_jax.study import results as results_lib

    folder = results / study.name
    try:
        meta = json.loads((folder / "meta.json").read_text())
        stored = json.loads((folder / "config.json").read_text())
        summary = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    git, env = provenance.git_state(), meta.get("environment", {})
    same = (meta.get("mode") == mode and stored == to_jsonable(config) and git["git_commit"] is not None
            and meta.get("git_commit") == git["git_commit"] and not meta.get("git_dirty") and not git["git_dirty"]
            and env.get("xla_flags", "").split() == os.environ.get("XLA_FLAGS", "").split()
            and env.get("device_count") == jax.device_count())
    return summary if same and not results_lib.check_folder(folder) else None


def _refresh_report(results: Path, studies: dict, failures: dict) -> None:
    path = report.write_report(results, studies=studies, failures=failures)
    print(f"Report: {path} and {path.with_suffix('.html')}")


def cmd_run(cmd, study: Study, studies: dict[str, Study]) -> int:
    default = study.full_config() if cmd.full else study.quick_config()
    mode = "full" if cmd.full else "quick"
    try:
        run_one(study, cmd.study, mode=mode, overrides=overrides_of(cmd.study, default), results=cmd.results,
                quiet=cmd.quiet)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        traceback.print_exc()
        print(f"FAILED: {study.name}: {e!r}", file=sys.stderr)
        _refresh_report(cmd.results, studies, {study.name: repr(e)})
        return 1
    _refresh_report(cmd.results, studies, {})
    return 0


def _chosen(only: str, studies: dict[str, Study]) -> list[Study]:
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in studies]
    if unknown:
        raise SystemExit(f"--only: unknown studies {unknown}; valid studies: {', '.join(studies)}")
    return [studies[n] for n in names] if names else list(studies.values())


def cmd_run_all(cmd: RunAllCmd, studies: dict[str, Study]) -> int:
    if cmd.seed is not None and cmd.seed < 0:
        raise SystemExit(f"--seed: expected a non-negative int, got {cmd.seed}")
    chosen, mode = _chosen(cmd.only, studies), "full" if cmd.full else "quick"
    configs, done = {}, {}
    for study in chosen:
        default = study.full_config() if cmd.full else study.quick_config()
        configs[study.name] = (default if cmd.seed is None else dataclasses.replace(default, seed=cmd.seed), default)
        summary = None if cmd.rerun else current_summary(cmd.results, study, configs[study.name][0], mode)
        if summary is not None:
            done[study.name] = summary
    timings = read_timings(cmd.results)
    ests = [estimate(s, mode, timings) for s in chosen if s.name not in done]
    total = sum(e for e, _ in ests if e is not None)
    n_meas = sum(src == "measured" for _, src in ests)
    print(f"Running {len(chosen) - len(done)} studies in {mode} mode; estimated time about {total / 60:.1f} min "
          f"({n_meas} of {len(ests)} from measured runs, the rest from the studies' estimates); "
          f"results in {cmd.results}/"
          + (f"; {len(done)} already current, not run again (--rerun to run them)" if done else ""), flush=True)
    failures: dict[str, str] = {}
    t0 = time.perf_counter()
    for i, study in enumerate(chosen, 1):
        print(f"[{i}/{len(chosen)}] {study.name}: {study.title}", flush=True)
        config, default = configs[study.name]
        if study.name in done:  # a killed main job, started again, goes on where it stopped
            print(f"[{study.name}] {mode}: results of this commit, config and flags already in "
                  f"{cmd.results / study.name}/ (not run again; --rerun to run it):", flush=True)
            print_verdicts(done[study.name])
            continue
        try:
            run_one(study, config, mode=mode, overrides=overrides_of(config, default), results=cmd.results,
                    quiet=cmd.quiet)
        except Exception as e:  # one broken study must not hide the others' results
            traceback.print_exc()
            failures[study.name] = repr(e)
    _refresh_report(cmd.results, studies, failures)
    print(f"All done in {time.perf_counter() - t0:.0f} s ({_dt.datetime.now(_dt.UTC):%Y-%m-%d %H:%M} UTC).")
    if failures:
        print("FAILED studies: " + ", ".join(failures), file=sys.stderr)
        return 1
    return 0


def cmd_list(cmd: ListCmd, studies: dict[str, Study]) -> int:
    """One line per study, its estimated quick/full times and its options (every one a ``--FIELD VALUE`` flag)."""
    timings = read_timings(cmd.results)
    for s in studies.values():
        print(f"{s.name:24s} claims {','.join(s.claims) or '-':18s} {s.title}")
        times = []
        for mode in ("quick", "full"):
            sec, src = estimate(s, mode, timings)
            times.append(f"{mode} about {sec:.0f} s ({src})" if sec is not None else f"{mode} ? s")
        print(f"{'':24s} {'; '.join(times)}")
        print(f"{'':24s} options: {' '.join('--' + f.name for f in dataclasses.fields(s.config))}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = ["--help"]
    if argv[0] not in COMMANDS and not argv[0].startswith("-"):  # before importing every study
        raise SystemExit(f"unknown command {argv[0]!r}; valid commands: {', '.join(COMMANDS)}")
    provenance.use_cpu_cores()  # before any study touches JAX: every sweep gets every core
    studies = discover()
    cmd = parse(argv, studies)
    if isinstance(cmd, ListCmd):
        return cmd_list(cmd, studies)
    if isinstance(cmd, RunAllCmd):
        return cmd_run_all(cmd, studies)
    if isinstance(cmd, ReportCmd):
        try:
            _refresh_report(cmd.results, studies, {})
        except FileNotFoundError as e:
            raise SystemExit(f"error: {e}") from None
        return 0
    if isinstance(cmd, StabilityCmd):
        from xgnn_jax.study import stability

        return stability.check(seeds=cmd.seeds, opt_levels=cmd.opt_levels, only=cmd.only, results=cmd.results,
                               isa=cmd.isa, studies=studies, full=cmd.full)
    # The chosen subcommand: the first study name on the line (two studies may share one Config class).
    return cmd_run(cmd, studies[next(a for a in argv[1:] if a in studies)], studies)
