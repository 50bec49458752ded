"""Command line: ``python -m xgnn_jax {list, run, run-all, report}``.

    python -m xgnn_jax list                         # the studies, their claims, options and run times
    python -m xgnn_jax run xor_networks --seeds 256 # one study, quick setting with overrides
    python -m xgnn_jax run zero_init --full         # one study, full setting
    python -m xgnn_jax run zero_init --help         # that study's options
    python -m xgnn_jax run-all [--full] [--only a,b] [--results DIR]   # every study, then the report
    python -m xgnn_jax report [--results DIR]       # rebuild results/REPORT.md from the results folders
    python -m xgnn_jax stability --seeds 0-4 [--opt-levels 1,3] [--only a,b]   # do the verdicts move?

Studies are the modules of the ``xgnn_jax.studies`` package that define ``STUDY``; they are found at run time
(``importlib``), so the library itself never imports a study.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import pkgutil
import sys
import time
from pathlib import Path

from xgnn_jax.study import report
from xgnn_jax.study.registry import Study, run_study


def parse_config(study: Study, argv: list[str] | None = None):
    """Build a study's config from the command line: ``--full`` selects the full setting, and every config field
    is an override flag (``--seeds 512 --lr 0.1``). Unknown flags exit with a message listing the valid ones."""
    import tyro

    argv = list(sys.argv[1:] if argv is None else argv)
    full = "--full" in argv
    argv = [a for a in argv if a != "--full"]
    default = study.full_config() if full else study.quick_config()
    description = (f"{study.title} (claims {', '.join(study.claims) or '-'}). Defaults shown are the "
                   f"{'full' if full else 'quick'} setting; pass --full for the full one.")
    return tyro.cli(study.config, default=default, args=argv, description=description,
                    prog=f"python -m xgnn_jax run {study.name}", config=(tyro.conf.FlagConversionOff,)), full


def discover() -> dict[str, Study]:
    """All studies, by name, in report order."""
    try:
        pkg = importlib.import_module("xgnn_jax.studies")
    except ImportError as e:  # pragma: no cover - only when the package is installed without its studies
        raise SystemExit(f"cannot import the xgnn_jax.studies package ({e}); run from the repository root") from e
    found = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_") or info.ispkg:
            continue
        mod = importlib.import_module(f"xgnn_jax.studies.{info.name}")
        study = getattr(mod, "STUDY", None)
        if isinstance(study, Study):
            found.append(study)
    found.sort(key=lambda s: (s.order, s.name))
    return {s.name: s for s in found}


def _get(studies: dict[str, Study], name: str) -> Study:
    if name not in studies:
        raise SystemExit(f"unknown study {name!r}; valid studies: {', '.join(studies)}")
    return studies[name]


def cmd_list(studies, *, options: bool = False) -> int:
    """One line per study; with ``options``, its config fields (every one is a ``--FIELD VALUE`` flag) and the
    estimated quick/full run times."""

    for s in studies.values():
        print(f"{s.name:24s} claims {','.join(s.claims) or '-':18s} {s.title}")
        if options:
            est = getattr(s.config, "ESTIMATED_SECONDS", {})
            if est:
                print(f"{'':24s} about {est.get('quick', '?')} s quick, {est.get('full', '?')} s full (--full)")
            fields = [f"--{f.name}" for f in dataclasses.fields(s.config)]
            print(f"{'':24s} options: {' '.join(fields)}")
    return 0


def cmd_run(studies, argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        raise SystemExit(f"usage: python -m xgnn_jax run STUDY [--full] [--FIELD VALUE ...]\n"
                         f"valid studies: {', '.join(studies)}")
    study = _get(studies, argv[0])
    argv = list(argv[1:])
    results_root = "results"
    if "--results" in argv:
        i = argv.index("--results")
        if i + 1 >= len(argv):
            raise SystemExit("--results: expected a folder")
        results_root = argv[i + 1]
        del argv[i : i + 2]
    config, _ = parse_config(study, argv)
    run_study(study, config, results_root=results_root)
    return 0


def cmd_run_all(studies, argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m xgnn_jax run-all",
                                description="Run every study (quick setting by default), then write the report.")
    p.add_argument("--full", action="store_true", help="use every study's full setting (much longer)")
    p.add_argument("--only", default="", help="comma-separated study names to run (default: all)")
    p.add_argument("--results", default="results", help="results folder (default: results)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--seed", type=int, default=None, help="every study's seed (default: each config's own, 0)")
    args = p.parse_args(argv)
    if args.seed is not None and args.seed < 0:
        raise SystemExit(f"--seed: expected a non-negative int, got {args.seed}")
    chosen = list(studies.values())
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        chosen = [_get(studies, n) for n in names]
    mode = "full" if args.full else "quick"
    estimate = sum(getattr(s.config, "ESTIMATED_SECONDS", {}).get(mode, 0) for s in chosen)
    print(f"Running {len(chosen)} studies in {mode} mode"
          + (f"; estimated time about {estimate / 60:.0f} min on 2 CPU cores" if estimate else "")
          + f"; results in {args.results}/")
    failures = []
    t0 = time.perf_counter()
    for i, study in enumerate(chosen, 1):
        print(f"[{i}/{len(chosen)}] {study.name}: {study.title}", flush=True)
        config = study.full_config() if args.full else study.quick_config()
        if args.seed is not None:
            config = dataclasses.replace(config, seed=args.seed)
        try:
            run_study(study, config, results_root=args.results, progress=not args.quiet)
        except Exception as e:  # one broken study must not hide the others' results
            import traceback

            traceback.print_exc()
            failures.append((study.name, repr(e)))
    path = report.write_report(args.results, studies=studies, failures=dict(failures))
    print(f"All done in {time.perf_counter() - t0:.0f} s. Report: {path}")
    if failures:
        print("FAILED studies: " + ", ".join(n for n, _ in failures), file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = ("list", "run", "run-all", "report", "stability")
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        try:
            print("Studies (each option takes a value: python -m xgnn_jax run STUDY --OPTION VALUE):")
            cmd_list(discover(), options=True)
        except SystemExit:
            pass
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd not in commands:
        raise SystemExit(f"unknown command {cmd!r}; valid commands: {', '.join(commands)}")
    studies = discover()
    if cmd == "list":
        return cmd_list(studies, options=True)
    if cmd == "run":
        return cmd_run(studies, rest)
    if cmd == "run-all":
        return cmd_run_all(studies, rest)
    if cmd == "stability":
        from xgnn_jax.study import stability

        return stability.main(rest, studies=studies)
    p = argparse.ArgumentParser(prog="python -m xgnn_jax report")
    p.add_argument("--results", default="results")
    args = p.parse_args(rest)
    print(report.write_report(Path(args.results), studies=studies))
    return 0
