"""The literature side by side: published numbers on XOR networks, reproduced under the closest setting we can state.

One row per published result (Rumelhart, Hinton & Williams 1986 with Chauvin's data; a public numpy 2-2-1
re-implementation; Sprinkhuizen-Kuyper & Boers 1996/1999 and Hamey 1998 on the minima; Kolen & Pollack 1990 on
initial conditions; a 2-3-1 on-line vs batch report; the deeplearning.ai "Initialization" exercise; Li Hang's perceptron examples 2.1 and 2.2; Novikoff's bound with
the data's best margin): the source, its setting, its number, ours, a 95% interval
and a verdict (reproduced / differs / undecided, with the likely reason). What a paper leaves open (initial
weight range, success criterion, number of runs) is assumed and said in the row. The rules are in
:mod:`xgnn_jax.studies.literature.rows`, the runs in :mod:`~xgnn_jax.studies.literature.tasks`.

Runs: XOR with sigmoid units, ``E = 1/2 sum_k (o_k - y_k)^2`` summed over the four patterns, full-batch momentum;
one restart sweep per network structure (the 2-2-1 settings share one grid: RHW eta 0.5 and 0.25, the numpy
setting, Kolen & Pollack's radii; common random numbers, so restart i starts alike at every point), one map over a
2-D slice of starts, float32 Hessian analyses of the failed end points, and one map over the starts of the
initialisation exercise (a ReLU net on circles, cross-entropy). Summary ``"table"``: the rows
(fields :data:`~xgnn_jax.studies.literature.rows.ROW_FIELDS`); verdict ``L00`` prints the table, ``L01``-``L19`` one
row each, ``facts={"reproduced": ...}``.

Stability (``python -m xgnn_jax stability --seeds 0-4``): with 128 restarts per point and 64 per 2-3-1 mode,
L02 (a stuck fraction of about 6-7% against RHW's 2 of about 200), L09 (no 2-3-1 failure at one seed) and L11
(whether the slice met a failing island) moved with the seed; the quick setting now runs 1024 and 512 restarts
(the fused engine makes them cheap) and L11 rests on the boundary's two-scale dimension, which does not depend
on the slice's resolution (the fraction of differing neighbours it used before falls from 12-22% at 24 x 24 to 4%
at the full setting's 128 x 128 and turned the full row against the quick one). The full setting ran in 104 s on
2 idle cores (2026-12-02) and agrees with the quick one on every row. The smoke test pins only the rows that held
at every seed and level checked.

Quick setting: 1024 restarts per 2-2-1 point and for the 2-1-1 net, 64 per other Chauvin width, 512 per 2-3-1
mode, a 24 x 24 slice, 2 starts per initialisation, 96 data sets for Novikoff's bound: 17 s on 2 idle cores with
128/64 restarts, about 30 s with the present counts measured beside another job (most of it compiling).
Full (``Config.full()``): 4096 restarts per point, every width 2-32, a 128 x 128 slice, 32 starts per
initialisation: 104 s on 2 idle cores.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import numpy as np

from xgnn_jax.analysis import xor_runs as xr
from xgnn_jax.core.mlp import MLP
from xgnn_jax.core.shortcut import ShortcutMLP
from xgnn_jax.studies.literature import figures, rows, tasks
from xgnn_jax.study import results
from xgnn_jax.study.registry import Study
from xgnn_jax.study.verdict import Number, Verdict, verdict


@dataclasses.dataclass(frozen=True)
class Config:
    """Quick setting by default; ``Config.full()`` for the publication setting."""

    ESTIMATED_SECONDS: ClassVar[dict[str, int]] = {"quick": 30, "full": 78}
    RANGES: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "epochs": (5000, None),  # L04 counts failures within 5000 epochs
        "epochs_231": (10000, None),  # the 2-3-1 report's budget
        "restarts": (16, None), "restarts_wide": (8, None), "restarts_231": (8, None),
        "kp_radii": (1e-3, 100.0), "slice_span": (1e-3, 100.0), "slice_radius": (1e-3, 100.0),
        "slice_res": (4, 1024), "max_hessians": (1, 100000), "chauvin_widths": (1, 1024),
        "novikoff_sets": (1, None)}

    seed: int = 0
    # 1024 and 512: at 128 and 64 the stuck fraction of L02 (about 6-7%) sat on the edge of RHW's interval and
    # the pooled 2-3-1 failures of L09 could be none, so those rows moved with the seed.
    restarts: int = 1024  # per 2-2-1 grid point and for the 2-1-1 net (even: L05 pairs them as attempts)
    restarts_wide: int = 64  # per Chauvin width other than 2
    restarts_231: int = 512  # per 2-3-1 update mode
    epochs: int = 5000
    epochs_231: int = 10000
    chauvin_widths: tuple[int, ...] = (2, 16)
    kp_radii: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
    slice_res: int = 24
    slice_span: float = 4.0
    slice_radius: float = 1.0
    max_hessians: int = 32  # failed end points analysed per network
    init_epochs: int = 15000  # the deeplearning.ai exercise's iterations
    init_seeds: int = 2  # starts per initialisation in that exercise
    novikoff_sets: int = 32  # separable data sets per margin level for Novikoff's bound (L19)

    @classmethod
    def full(cls) -> Config:
        return cls(restarts=4096, restarts_wide=1024, restarts_231=2048, chauvin_widths=(2, 4, 8, 16, 32),
                   kp_radii=(0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0), slice_res=128, max_hessians=512, init_seeds=32,
                   novikoff_sets=1024)


def _check(cfg: Config) -> None:
    if cfg.restarts % 2:
        raise ValueError(f"restarts: expected an even number (L05 pairs restarts as attempts), got {cfg.restarts}")
    if 2 not in cfg.chauvin_widths or len(set(cfg.chauvin_widths)) < 2:
        raise ValueError(f"chauvin_widths: expected 2 and at least one other width, got {cfg.chauvin_widths}")


def _point(sw, points: list[str], name: str, key: str) -> np.ndarray:
    return xr.as_times(sw.outcomes[key][points.index(name)])


def _outcomes_at(sw, i: int) -> dict:
    return jax.tree.map(lambda a: a[i], sw.outcomes)


def build_rows(cfg: Config, sweeps: dict, points: list[str], analyses: dict, sl: dict, inits: dict,
               novikoff: dict) -> list[dict]:
    g = sweeps["2-2-1"]
    widths = sorted(cfg.chauvin_widths)
    wide = [_point(g, points, "rhw_eta025", "epochs_tss") if h == 2 else xr.as_times(sweeps[f"2-{h}-1"]["epochs_tss"])
            for h in widths]
    out = [rows.rhw_shortcut(xr.as_times(sweeps["shortcut"]["epochs_tss"]), cfg.epochs),
           rows.rhw_stuck(_point(g, points, "rhw", "epochs_tss"), cfg.epochs),
           rows.chauvin(widths, wide, cfg.seed),
           rows.numpy_fails(_point(g, points, "numpy", "epochs_correct")),
           rows.numpy_restart(_point(g, points, "numpy", "epochs_correct")),
           *rows.minima_rows(analyses),
           rows.kp_radius(cfg.kp_radii, [_point(g, points, f"kp_r{r:g}", "epochs_correct") for r in cfg.kp_radii]),
           rows.kp_slice(sl, cfg.slice_span, cfg.slice_radius)]
    for id_, mode, pct in (("L12", "online", 96), ("L13", "batch", 99)):
        out.append(rows.two_three_one(id_, "on-line" if mode == "online" else "batch",
                                      xr.as_times(sweeps[f"2-3-1 {mode}"]["epochs_rms"]), pct))
    return (out + rows.init_exercise(inits, cfg.init_epochs) + rows.li_hang(tasks.li_hang())
            + [rows.novikoff(novikoff)])


def _analyses(cfg: Config, sweeps: dict, points: list[str]) -> dict:
    """Hessian analyses of the failed end points: the 2-1-1 net (tss criterion), the 2-2-1 net at RHW's eta 0.5
    and at the numpy setting (every |o - y| < 0.5), the 2-3-1 net in both update modes pooled (RMS criterion)."""
    s221 = MLP((2, 2, 1), weight_init=tasks.U05, bias_init=tasks.U05)
    s231 = MLP((2, 3, 1), weight_init="uniform(-1, 1)", bias_init="uniform(-1, 1)")
    pooled = jax.tree.map(lambda a, b: np.concatenate([a, b]), sweeps["2-3-1 batch"].outcomes,
                          sweeps["2-3-1 online"].outcomes)
    nets = {"shortcut": (ShortcutMLP(2, 1, 1, weight_init=tasks.U05, bias_init=tasks.U05), sweeps["shortcut"].outcomes,
                         "epochs_tss"),
            "2-2-1 rhw": (s221, _outcomes_at(sweeps["2-2-1"], points.index("rhw")), "epochs_tss"),
            "2-2-1 numpy": (s221, _outcomes_at(sweeps["2-2-1"], points.index("numpy")), "epochs_correct"),
            "2-3-1": (s231, pooled, "epochs_rms")}
    out = {name: tasks.analyse_failures(model, o, np.asarray(o[key]) < 0, cfg.max_hessians)
           for name, (model, o, key) in nets.items()}
    out["shortcut"]["runs"] = int(np.asarray(sweeps["shortcut"]["epochs_tss"]).size)
    return out


def _verdicts(table: list[dict], figs: list[str]) -> list[Verdict]:
    out = []
    differs = [f"{r['id']} ({r['reason']})" for r in table if not r["reproduced"]]
    out.append(verdict("L00", True, "Which published XOR results does this code reproduce, and where does it differ?",
                       rows.markdown(table), conditional=bool(differs),
                       conditions="; ".join(differs), figures=figs,
                       answer=f"{sum(bool(r['reproduced']) for r in table)} of {len(table)} published results are "
                              "reproduced within their intervals; the others differ for the reasons given.",
                       facts={"reproduced": [r["id"] for r in table if r["reproduced"]]}))
    for r in table:
        ok = r["reproduced"]
        out.append(verdict(r["id"], ok, f"{r['source']}: {r['published']} ({r['setting']})?",
                           f"ours: {r['ours']}; interval {r['interval']}; {r['reason']}. Assumed: {r['assumed'] or '-'}",
                           setting=r["setting"], conditions=r["reason"] if ok is None else "",
                           answer=f"{r['verdict'].capitalize()}: {r['reason']}.",
                           numbers=tuple(Number(*n) for n in r["numbers"]),
                           facts={"reproduced": bool(ok) if ok is not None else "undecided"}))
    return out


def run(config: Config = Config(), out_dir=None, progress: bool = True) -> dict:
    cfg = config
    _check(cfg)
    with results.Timer() as timer:
        # Every sweep resumable under out_dir/sweeps/ (a killed run starts again where it stopped).
        got = tasks.run_sweeps(cfg, progress=progress, out_dir=out_dir)
        sweeps, points = got["sweeps"], got["points"]
        sl = tasks.kp_slice(cfg, progress=progress, out_dir=out_dir)
        analyses = _analyses(cfg, sweeps, points)
        inits = tasks.init_exercise(cfg, progress=progress, out_dir=out_dir)
        table = build_rows(cfg, sweeps, points, analyses, sl, inits, tasks.novikoff(cfg, out_dir=out_dir))
    figs = _figures(cfg, out_dir, sweeps, points, sl) if out_dir is not None else []
    summary = {"table": [{k: r[k] for k in rows.ROW_FIELDS} for r in table],
               "verdicts": _verdicts(table, figs),
               "failures_analysed": {k: {"n": a["n"], "labels": a["labels"]} for k, a in analyses.items()}}
    tables = {name.replace(" ", "_").replace("-", ""): s.table() for name, s in sweeps.items()}
    return results.finish(STUDY, cfg, summary, out_dir, wall_time_s=timer.seconds, seed=cfg.seed, tables=tables,
                          arrays={"slice_epochs": sl["epochs_correct"], "slice_axis": sl["axis"]})


def _figures(cfg: Config, out_dir, sweeps: dict, points: list[str], sl: dict) -> list[str]:
    from pathlib import Path

    out = Path(out_dir)
    g = sweeps["2-2-1"]
    numpy_t = _point(g, points, "numpy", "epochs_correct")
    curves = {"2-1-1 shortcuts, eta 0.5 (tss)": xr.as_times(sweeps["shortcut"]["epochs_tss"]),
              "2-2-1, eta 0.5 (tss)": _point(g, points, "rhw", "epochs_tss"),
              "2-2-1 numpy setting, restart at 2500": xr.restart_chain(numpy_t, 2500, 2),
              "2-3-1 on-line (rms)": xr.as_times(sweeps["2-3-1 online"]["epochs_rms"])}
    widths = sorted(cfg.chauvin_widths)
    wide = [_point(g, points, "rhw_eta025", "epochs_tss") if h == 2 else xr.as_times(sweeps[f"2-{h}-1"]["epochs_tss"])
            for h in widths]
    return [figures.times(out, curves, {"RHW 558": 558.0, "numpy median 962": 962.0}),
            figures.laws(out, widths, wide, cfg.kp_radii,
                         [_point(g, points, f"kp_r{r:g}", "epochs_correct") for r in cfg.kp_radii]),
            figures.slice_map(out, sl, cfg.slice_span)]


STUDY = Study(
    name="literature",
    title="The literature side by side: published XOR results reproduced, with what differs and why",
    claims=(),
    config=Config,
    run=run,
    order=90,
    description=__doc__.split("\n\n")[0],
)
