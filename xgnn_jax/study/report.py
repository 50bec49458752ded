"""The research report: ``results/REPORT.md`` and ``results/REPORT.html`` from every study's results folder.

For each claim C1-C24 (and each further question a study answers, such as ``C17.escape``) the report gives, in
this order: the claim's statement; the verdict word with a one-sentence answer; a small table of the key numbers
with their intervals (:class:`xgnn_jax.study.verdict.Number`); the figure that shows it (each figure once, under
the first claim that names it); the conditions as a short list; and, collapsed in ``<details>``, the setting,
every measured number and the discrete facts. A claim measured by two studies gets one reconciled verdict
(:func:`reconcile`) that cites both parts. Claims no study has measured are listed as "not yet measured".

Provenance is stated at the top and per study: quick or full setting (and any overridden options, read from
``meta.json`` or, for folders written without the CLI, found by comparing ``config.json`` with the study's quick
and full configs), date, commit and dirty flag, package versions, devices and seeds. The HTML file is
self-contained (figures embedded as base64) and its verdict table can be filtered and sorted in the browser.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from xgnn_jax.io import atomic_write_bytes, to_jsonable
from xgnn_jax.study.claims import CLAIMS

_BADGE = {"holds": "HOLDS", "holds under conditions": "HOLDS UNDER CONDITIONS", "does not hold": "DOES NOT HOLD",
          "inconclusive": "INCONCLUSIVE", "not yet measured": "NOT YET MEASURED"}
# How much support a word gives the claim, strongest first: reconciling two studies keeps the weaker word.
_STRENGTH = ("holds", "holds under conditions", "inconclusive", "does not hold")
_VERSIONS = ("jax", "jaxlib", "optax", "flax", "numpy", "scipy", "matplotlib", "python")


@dataclasses.dataclass
class StudyRun:
    """One results folder as the report sees it: its summary, meta and config, the setting it was run in
    (``mode``: ``"quick"``, ``"full"`` or ``"unknown"``; ``overrides``: the options that differ from that setting),
    the problems :func:`xgnn_jax.study.results.check_folder` finds, and its PNG figures."""

    name: str
    summary: dict
    meta: dict
    config: dict
    mode: str
    overrides: dict
    problems: list[str]
    figures: list[str]
    extra_figures: list[str] = dataclasses.field(default_factory=list)  # figures no verdict names


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def load_summaries(results: Path) -> dict[str, dict[str, Any]]:
    """``{study folder name: summary}`` for every ``results/*/summary.json`` that parses."""
    return {p.parent.name: s for p in sorted(Path(results).glob("*/summary.json")) if (s := _read_json(p))}


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(to_jsonable(obj)))


def setting_of(config: Mapping[str, Any], study=None, meta: Mapping[str, Any] | None = None) -> tuple[str, dict]:
    """``(mode, overrides)`` of a run: from ``meta`` when the CLI recorded them, else by comparing ``config`` (the
    folder's ``config.json``) with the study's quick and full configs (the nearer one wins)."""
    meta = meta or {}
    if "mode" in meta:
        return str(meta["mode"]), dict(meta.get("overrides") or {})
    if study is None or not config:
        return "unknown", {}
    best = None
    for mode, default in (("quick", study.quick_config()), ("full", study.full_config())):
        ref = _jsonable(default)
        diff = {k: v for k, v in config.items() if ref.get(k, v) != v}
        if best is None or len(diff) < len(best[1]):
            best = (mode, diff)
    return best


def _check_folder(path: Path) -> list[str]:
    """``results.check_folder`` where it exists (older trees lack it): what is inconsistent in one folder."""
    from xgnn_jax.study import results as results_mod

    check = getattr(results_mod, "check_folder", None)
    if check is None:
        return []
    try:
        return [str(p) for p in check(path)]
    except Exception as e:  # a checker bug must not hide the report
        return [f"check_folder failed: {e!r}"]


def load_runs(results: Path, studies: Mapping[str, Any] | None = None) -> list[StudyRun]:
    """Every study folder under ``results`` with a summary, in report order (the order of ``studies``)."""
    studies = dict(studies or {})
    order = list(studies)
    runs = []
    for name, summary in load_summaries(results).items():
        folder = results / name
        meta, config = _read_json(folder / "meta.json"), _read_json(folder / "config.json")
        mode, overrides = setting_of(config, studies.get(name), meta)
        figs = sorted(p.name for p in folder.glob("*.png"))
        runs.append(StudyRun(name, summary, meta, config, mode, overrides, _check_folder(folder), figs))
    runs.sort(key=lambda r: (order.index(r.name) if r.name in order else len(order), r.name))
    return runs


def claim_key(cid: str):
    """Sort key: C1 < C2 < ... < C17 < C17.escape < C17.traps < C18 ...; other ids last."""
    head, _, tail = cid.partition(".")
    num = int(head[1:]) if head[:1] == "C" and head[1:].isdigit() else 10**6
    return (num, head, tail)


def reconcile(parts: list[tuple[str, dict]]) -> tuple[str, str]:
    """One verdict word for a claim measured by several studies, and a sentence saying how it was reached.

    The same word from every study is that word; otherwise the weaker word (``holds`` > ``holds under
    conditions`` > ``inconclusive`` > ``does not hold``) is kept, with the conditions of every part."""
    words = [v["verdict"] for _, v in parts]
    if len(parts) == 1:
        return words[0], ""
    names = ", ".join(f"`{n}`" for n, _ in parts)
    if len(set(words)) == 1:
        return words[0], f"Measured by {len(parts)} studies ({names}); they agree."
    weakest = max(words, key=lambda w: _STRENGTH.index(w) if w in _STRENGTH else len(_STRENGTH))
    said = "; ".join(f"`{n}` finds it {v['verdict']}" for n, v in parts)
    return weakest, (f"Measured by {len(parts)} studies that differ ({said}): the weaker word is kept, "
                     "with the conditions of both parts.")


def answer_of(v: Mapping[str, Any]) -> str:
    """The verdict's plain-sentence answer; for a study that has not written one, a sentence from its word and
    question."""
    if v.get("answer"):
        return str(v["answer"]).strip()
    q = str(v.get("question", "")).strip()
    word = v.get("verdict", "")
    said = {"holds": "Yes.", "holds under conditions": "Yes, under the conditions below.",
            "does not hold": "No.", "inconclusive": "Undecided at this sample size (see below)."}.get(word, word)
    return f"{q} {said}" if q else said


def _num(x: Any) -> str:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:.3g}" if x == 0 or 1e-3 <= abs(x) < 1e5 else f"{x:.2e}"


def number_row(n: Mapping[str, Any]) -> tuple[str, str, str]:
    """``(name, value with unit, interval)`` of one :class:`Number` as JSON. A value whose unit is ``"fraction of
    N ..."`` reads as a percentage of N (``"100% of 3,072 runs"``), its interval in percent too."""
    unit = f" {n['unit']}" if n.get("unit") else ""
    num = _num
    if str(n.get("unit", "")).startswith("fraction of ") and isinstance(n.get("value"), (int, float)):
        unit = " " + str(n["unit"])[len("fraction "):]

        def num(x):
            return f"{100 * x:.3g}%" if isinstance(x, (int, float)) and not isinstance(x, bool) else _num(x)
    interval = ""
    if n.get("low") is not None and n.get("high") is not None:
        interval = f"{num(n['low'])} to {num(n['high'])}"  # in the value's unit
        if n.get("interval"):
            interval += f" ({n['interval']})"
    elif n.get("interval"):
        interval = str(n["interval"])
    return str(n.get("name", "")), f"{num(n.get('value'))}{unit}", interval


def split_list(text: str) -> list[str]:
    """A run-on list (``a; b; c``) as its items; a single sentence stays whole."""
    items = [t.strip() for t in re.split(r";\s+(?![^()]*\))", str(text or "")) if t.strip()]
    return items


def few_words(conditions: str) -> str:
    """The first clause of a verdict's conditions, for the at-a-glance table (never cut mid-clause)."""
    first = split_list(conditions)[0] if conditions else ""
    first = first.split(". ")[0].rstrip(".")
    # "with the factor 2 restored: as printed ..." -> the condition, not its evidence (a colon in brackets stays)
    head = re.split(r":\s+(?![^()]*\))", first)[0]
    return head if len(head.split()) >= 3 else first


def _title(cid: str, parts: list[tuple[str, dict]]) -> str:
    if cid in CLAIMS:
        return CLAIMS[cid][0]
    return str(parts[0][1].get("question", cid)).strip() if parts else cid


def build(results: Path, studies: Mapping[str, Any] | None = None,
          failures: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The report as data (both renderers read it): provenance, one entry per claim, the study runs."""
    runs = load_runs(results, studies)
    by_claim: dict[str, list[tuple[str, dict]]] = {}
    for r in runs:
        for v in r.summary.get("verdicts", []):
            by_claim.setdefault(v["claim"], []).append((r.name, v))
    ids = sorted(set(CLAIMS) | set(by_claim), key=claim_key)
    shown: dict[tuple[str, str], str] = {}  # (study, figure) -> claim id where it is shown
    measured_seen: dict[str, str] = {}
    claims = []
    for cid in ids:
        parts = by_claim.get(cid, [])
        word, note = reconcile(parts) if parts else ("not yet measured", "")
        entry_parts = []
        for name, v in parts:
            figs = []
            for f in v.get("figures", []):
                if (name, f) not in shown:
                    shown[(name, f)] = cid
                    figs.append(f)
            m = str(v.get("measured", ""))
            repeat_of = measured_seen.get(m) if m else None
            measured_seen.setdefault(m, cid)
            entry_parts.append({"study": name, "v": v, "figures": figs, "repeat_of": repeat_of,
                                "elsewhere": [(f, shown[(name, f)]) for f in v.get("figures", []) if f not in figs]})
        claims.append({"id": cid, "title": _title(cid, parts), "statement": CLAIMS.get(cid, ("", ""))[1],
                       "word": word, "note": note, "parts": entry_parts})
    for r in runs:
        r.extra_figures = [f for f in r.figures if (r.name, f) not in shown]
    return {"runs": runs, "claims": claims, "failures": dict(failures or {}), "provenance": provenance(runs),
            "results": Path(results)}


def _commit(meta: Mapping[str, Any]) -> str:
    c = meta.get("git_commit")
    if not c:
        return "unknown"
    return c[:10] + (" (uncommitted changes)" if meta.get("git_dirty") else "")


def _devices(meta: Mapping[str, Any]) -> str:
    env = meta.get("environment") or {}
    if not env:
        return "unknown"
    return f"{env.get('device_count', '?')} x {env.get('device_kind', '?')} ({env.get('backend', '?')})"


def _setting(r: StudyRun) -> str:
    if not r.overrides:
        return r.mode
    return f"{r.mode} with overrides " + ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(r.overrides.items()))


def provenance(runs: list[StudyRun]) -> list[tuple[str, str]]:
    """``[(what, value)]`` for the top of the report; a value that differs between studies says so."""

    def one(values: list[str]) -> str:
        distinct = sorted(set(values))
        return distinct[0] if len(distinct) == 1 else "differs by study: " + ", ".join(distinct)

    if not runs:
        return [("studies", "none")]
    vers = {}
    for r in runs:
        for k, v in (r.meta.get("versions") or {}).items():
            vers.setdefault(k, set()).add(v)
    versions = ", ".join(f"{k} {'/'.join(sorted(vers[k]))}" for k in _VERSIONS if k in vers)
    modes = sorted({r.mode for r in runs})
    overridden = [r.name for r in runs if r.overrides]
    setting = one([r.mode for r in runs]) if len(modes) == 1 else "mixed: " + ", ".join(
        f"{m} ({k} {'study' if k == 1 else 'studies'})" for m in modes if (k := sum(r.mode == m for r in runs)))
    if overridden:
        setting += "; run with overridden options: " + ", ".join(f"`{n}`" for n in overridden)
    dates = sorted(str(r.meta.get("finished_at", ""))[:19] for r in runs if r.meta.get("finished_at"))
    return [("setting", setting),
            ("date", f"{dates[0]} to {dates[-1]} (UTC)" if dates else "unknown"),
            ("commit", one([_commit(r.meta) for r in runs])),
            ("versions", versions or "unknown"),
            ("devices", one([_devices(r.meta) for r in runs])),
            ("seeds", one([str(r.meta.get("seed", r.config.get("seed", "?"))) for r in runs])),
            ("studies", f"{len(runs)} results folders")]


# ------------------------------------------------------------------------------------------------ Markdown


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_part(cid: str, part: dict, run: StudyRun | None) -> list[str]:
    v, name = part["v"], part["study"]
    setting = "" if run is None else f", **{_setting(run)}**" if run.overrides else f", {_setting(run)}"
    out = [f"{answer_of(v)} (study [`{name}`]({name}/){setting})", ""]
    if v.get("numbers"):
        out += ["| key number | value | interval |", "|---|---|---|"]
        out += ["| " + " | ".join(_md_cell(c) for c in number_row(n)) + " |" for n in v["numbers"]]
        out.append("")
    for f in part["figures"]:
        out += [f"![{cid}: {f}]({name}/{f})", ""]
    for f, where in part["elsewhere"]:
        out += [f"Figure `{f}`: shown under [{where}](#{_anchor(where)}).", ""]
    if v.get("conditions"):
        out += ["Conditions:", ""] + [f"- {c}" for c in split_list(v["conditions"])] + [""]
    out += ["<details><summary>Details: question, setting, every number</summary>", ""]
    out += [f"- *Question.* {v.get('question', '')}"]
    if v.get("setting"):
        out += [f"- *Setting.* {v['setting']}"]
    if part["repeat_of"]:
        out += [f"- *Measured.* The same measurement as [{part['repeat_of']}](#{_anchor(part['repeat_of'])})."]
    else:
        out += ["- *Measured.*"] + [f"  - {m}" for m in split_list(v.get("measured", ""))]
    if v.get("facts"):
        out += ["- *Facts* (what the stability check compares): "
                + "; ".join(f"`{k}` = {json.dumps(val)}" for k, val in v["facts"].items())]
    out += ["", "</details>", ""]
    return out


def _anchor(cid: str) -> str:
    return "claim-" + re.sub(r"[^a-z0-9]+", "-", cid.lower()).strip("-")


def render_markdown(model: dict) -> str:
    runs = {r.name: r for r in model["runs"]}
    lines = ["# xgnn_jax research report", "",
             "Each claim of chapter 5, \"Neural Networks\", of Zhou Zhihua's *Machine Learning* (C1-C24, as the "
             "review article \"西瓜书重温(五): 神经网络手推版\" (*The watermelon book revisited, part 5: neural "
             "networks by hand*) states them), what was measured, and whether it holds. Every number comes from "
             "the results folders beside this file; `python -m xgnn_jax report` rebuilds it.", "",
             "## Provenance", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {_md_cell(v)} |" for k, v in model["provenance"]]
    lines.append("")
    problems = [(r.name, p) for r in model["runs"] for p in r.problems]
    if problems:
        lines += ["**Inconsistent results folders** (`results.check_folder`):", ""]
        lines += [f"- `{n}`: {p}" for n, p in problems] + [""]
    if model["failures"]:
        lines += ["## Studies that failed in this run", ""]
        lines += [f"- `{n}`: {err}" for n, err in model["failures"].items()] + [""]
    lines += ["## Verdicts at a glance", "", "| claim | title | verdict | conditions, in a few words | studies |",
              "|---|---|---|---|---|"]
    for c in model["claims"]:
        conds = "; ".join(few_words(p["v"].get("conditions", "")) for p in c["parts"] if p["v"].get("conditions"))
        studies = ", ".join(f"[{p['study']}]({p['study']}/)" for p in c["parts"]) or "-"
        lines.append(f"| [{c['id']}](#{_anchor(c['id'])}) | {_md_cell(c['title'])} | **{c['word']}** | "
                     f"{_md_cell(conds) or '-'} | {studies} |")
    lines += ["", "## Claims", ""]
    for c in model["claims"]:
        lines += [f'<a id="{_anchor(c["id"])}"></a>', "", f"### {c['id']}. {c['title']}", ""]
        if c["statement"]:
            lines += [f"> {c['statement']}", ""]
        lines += [f"**{_BADGE.get(c['word'], c['word'])}**" + (f" {c['note']}" if c["note"] else ""), ""]
        if not c["parts"]:
            lines += ["No study measures this claim yet.", ""]
        for i, part in enumerate(c["parts"], 1):
            if len(c["parts"]) > 1:
                lines += [f"#### Part {i}: `{part['study']}`, {part['v']['verdict']}", ""]
            lines += _md_part(c["id"], part, runs.get(part["study"]))
    lines += _md_studies(model["runs"], model["results"])
    return "\n".join(lines)


def _data_files(results: Path, name: str) -> list[str]:
    """The files a reader opens: summary, config, meta, raw arrays and the CSV tables (one row per restart)."""
    folder = results / name
    fixed = [f for f in ("summary.json", "config.json", "meta.json", "arrays.npz") if (folder / f).is_file()]
    return fixed + sorted(p.name for p in folder.glob("*.csv"))


def _md_studies(runs: list[StudyRun], results: Path) -> list[str]:
    lines = ["## Studies and their provenance", "",
             "| study | setting | seed | finished (UTC) | commit | devices | wall time | files |",
             "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        wt = r.meta.get("wall_time_s", r.summary.get("wall_time_s"))
        files = ", ".join(f"[{f}]({r.name}/{f})" for f in _data_files(results, r.name))
        lines.append(f"| [`{r.name}`]({r.name}/) | {_md_cell(_setting(r))} | {r.meta.get('seed', '?')} | "
                     f"{str(r.meta.get('finished_at', '?'))[:19]} | {_commit(r.meta)} | {_devices(r.meta)} | "
                     f"{f'{wt:.1f} s' if isinstance(wt, (int, float)) else '?'} | {files} |")
    lines.append("")
    for r in runs:
        if r.extra_figures:
            lines += [f"### Further figures of `{r.name}`", ""]
            lines += [f"![{r.name}: {f}]({r.name}/{f})\n" for f in r.extra_figures]
    return lines


# ------------------------------------------------------------------------------------------------ HTML

_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:auto;padding:1em;line-height:1.45;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 7px;vertical-align:top}
th{background:#f0f0f0;cursor:pointer}img{max-width:min(100%,820px);border:1px solid #ddd}code{background:#f4f4f4}
.w{font-weight:bold;padding:1px 6px;border-radius:3px;white-space:nowrap}.holds{background:#d4f4d4}.cond{background:#fff2c2}
.fails{background:#f8d0d0}.inc{background:#dde4f8}.none{background:#eee}section.claim{border-top:2px solid #ddd}
blockquote{color:#555;border-left:3px solid #ccc;margin-left:0;padding-left:1em}"""

_JS = """function filt(){const q=document.getElementById('q').value.toLowerCase(),w=document.getElementById('w').value;
for(const r of document.querySelectorAll('#glance tbody tr')){const ok=r.textContent.toLowerCase().includes(q)
&&(!w||r.dataset.verdict===w);r.style.display=ok?'':'none';}}
function sortBy(i){const b=document.querySelector('#glance tbody'),rs=[...b.rows],d=b.dataset.dir==='1'?-1:1;
b.dataset.dir=d===1?'1':'0';rs.sort((a,c)=>d*a.cells[i].dataset.k.localeCompare(c.cells[i].dataset.k,undefined,
{numeric:true}));rs.forEach(r=>b.appendChild(r));}"""

_CLS = {"holds": "holds", "holds under conditions": "cond", "does not hold": "fails", "inconclusive": "inc"}


def _h(text: Any) -> str:
    """Escaped text with the Markdown the verdicts use (``code``, **bold**, *italic*) as HTML."""
    s = html.escape(str(text))
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    s = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", s)
    return re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"<i>\1</i>", s)


def _word(w: str) -> str:
    return f'<span class="w {_CLS.get(w, "none")}">{html.escape(w)}</span>'


def _img(results: Path, study: str, fig: str) -> str:
    path = results / study / fig
    if not path.is_file():
        return f"<p>(figure <code>{html.escape(fig)}</code> is missing from the results folder)</p>"
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<figure><img alt="{html.escape(study)}: {html.escape(fig)}" data-figure="{html.escape(study)}/' \
           f'{html.escape(fig)}" src="data:image/png;base64,{data}"><figcaption>{html.escape(fig)}</figcaption></figure>'


def _html_part(results: Path, part: dict, run: StudyRun | None) -> list[str]:
    v, name = part["v"], part["study"]
    out = [f"<p>{_h(answer_of(v))} (study <a href=\"{name}/summary.json\"><code>{html.escape(name)}</code></a>"
           f"{', ' + (('<b>' + html.escape(_setting(run)) + '</b>') if run.overrides else html.escape(_setting(run))) if run else ''})</p>"]
    if v.get("numbers"):
        out.append("<table class=numbers><tr><th>key number</th><th>value</th><th>interval</th></tr>")
        out += ["<tr>" + "".join(f"<td>{_h(c)}</td>" for c in number_row(n)) + "</tr>" for n in v["numbers"]]
        out.append("</table>")
    out += [_img(results, name, f) for f in part["figures"]]
    out += [f'<p>Figure <code>{html.escape(f)}</code>: shown under <a href="#{_anchor(w)}">{html.escape(w)}</a>.</p>'
            for f, w in part["elsewhere"]]
    if v.get("conditions"):
        out.append("<p>Conditions:</p><ul>" + "".join(f"<li>{_h(c)}</li>" for c in split_list(v["conditions"]))
                   + "</ul>")
    out.append("<details><summary>Details: question, setting, every number</summary><ul>")
    out.append(f"<li><i>Question.</i> {_h(v.get('question', ''))}</li>")
    if v.get("setting"):
        out.append(f"<li><i>Setting.</i> {_h(v['setting'])}</li>")
    if part["repeat_of"]:
        out.append(f'<li><i>Measured.</i> The same measurement as <a href="#{_anchor(part["repeat_of"])}">'
                   f'{html.escape(part["repeat_of"])}</a>.</li>')
    else:
        out.append("<li><i>Measured.</i><ul>" + "".join(f"<li>{_h(m)}</li>" for m in
                                                          split_list(v.get("measured", ""))) + "</ul></li>")
    if v.get("facts"):
        out.append("<li><i>Facts.</i> " + html.escape("; ".join(f"{k} = {json.dumps(x)}" for k, x in
                                                                   v["facts"].items())) + "</li>")
    out.append("</ul></details>")
    return out


def _html_glance(model: dict) -> list[str]:
    words = [w for w in (*_STRENGTH, "not yet measured")]
    out = ["<h2 id=glance-h>Verdicts at a glance</h2>",
           '<p>Filter: <input id=q oninput="filt()" placeholder="text"> <select id=w onchange="filt()">'
           '<option value="">every verdict</option>'
           + "".join(f'<option value="{w}">{w}</option>' for w in words) + "</select> (click a heading to sort)</p>",
           '<table id=glance><thead><tr>' + "".join(
               f'<th onclick="sortBy({i})">{h}</th>' for i, h in
               enumerate(("claim", "title", "verdict", "conditions, in a few words", "studies")))
           + "</tr></thead><tbody>"]
    for c in model["claims"]:
        conds = "; ".join(few_words(p["v"].get("conditions", "")) for p in c["parts"] if p["v"].get("conditions"))
        num, _, tail = claim_key(c["id"])
        cells = [(f'<a href="#{_anchor(c["id"])}">{html.escape(c["id"])}</a>', f"{num:07d}{tail}"),
                 (_h(c["title"]), c["title"]), (_word(c["word"]), c["word"]), (_h(conds or "-"), conds),
                 (", ".join(html.escape(p["study"]) for p in c["parts"]) or "-",
                  ",".join(p["study"] for p in c["parts"]))]
        out.append(f'<tr data-verdict="{html.escape(c["word"])}">' + "".join(
            f'<td data-k="{html.escape(k)}">{v}</td>' for v, k in cells) + "</tr>")
    out.append("</tbody></table>")
    return out


def render_html(model: dict, results: Path) -> str:
    runs = {r.name: r for r in model["runs"]}
    out = ["<!doctype html><html lang=en><head><meta charset=utf-8><title>xgnn_jax research report</title>",
           f"<style>{_CSS}</style><script>{_JS}</script></head><body>", "<h1>xgnn_jax research report</h1>",
           "<p>Each claim of chapter 5, \"Neural Networks\", of Zhou Zhihua's <i>Machine Learning</i> (C1-C24, as "
           "the review article \"西瓜书重温(五): 神经网络手推版\" (<i>The watermelon book revisited, part 5: "
           "neural networks by hand</i>) states them), what was measured, and whether it holds.</p>",
           "<h2>Provenance</h2><table>" + "".join(f"<tr><th>{html.escape(k)}</th><td>{_h(v)}</td></tr>"
                                                  for k, v in model["provenance"]) + "</table>"]
    problems = [(r.name, p) for r in model["runs"] for p in r.problems]
    if problems:
        out.append("<p><b>Inconsistent results folders:</b></p><ul>" + "".join(
            f"<li><code>{html.escape(n)}</code>: {html.escape(p)}</li>" for n, p in problems) + "</ul>")
    if model["failures"]:
        out.append("<h2>Studies that failed in this run</h2><ul>" + "".join(
            f"<li><code>{html.escape(n)}</code>: {html.escape(e)}</li>" for n, e in model["failures"].items())
                   + "</ul>")
    out += _html_glance(model)
    out.append("<h2>Claims</h2>")
    for c in model["claims"]:
        out.append(f'<section class=claim id="{_anchor(c["id"])}" data-claim="{html.escape(c["id"])}">'
                   f"<h3>{html.escape(c['id'])}. {_h(c['title'])}</h3>")
        if c["statement"]:
            out.append(f"<blockquote>{_h(c['statement'])}</blockquote>")
        out.append(f"<p>{_word(c['word'])} {_h(c['note'])}</p>")
        if not c["parts"]:
            out.append("<p>No study measures this claim yet.</p>")
        for i, part in enumerate(c["parts"], 1):
            if len(c["parts"]) > 1:
                out.append(f"<h4>Part {i}: <code>{html.escape(part['study'])}</code>, "
                           f"{html.escape(part['v']['verdict'])}</h4>")
            out += _html_part(results, part, runs.get(part["study"]))
        out.append("</section>")
    out += _html_studies(model["runs"], results)
    out.append("</body></html>")
    return "\n".join(out)


def _html_studies(runs: list[StudyRun], results: Path) -> list[str]:
    out = ["<h2>Studies and their provenance</h2><table><tr><th>study</th><th>setting</th><th>seed</th>"
           "<th>finished (UTC)</th><th>commit</th><th>devices</th><th>files</th></tr>"]
    for r in runs:
        links = [f'<a href="{r.name}/{f}">{html.escape(f)}</a>' for f in _data_files(results, r.name)]
        out.append(f"<tr><td><code>{html.escape(r.name)}</code></td><td>{html.escape(_setting(r))}</td>"
                   f"<td>{html.escape(str(r.meta.get('seed', '?')))}</td>"
                   f"<td>{html.escape(str(r.meta.get('finished_at', '?'))[:19])}</td>"
                   f"<td>{html.escape(_commit(r.meta))}</td><td>{html.escape(_devices(r.meta))}</td>"
                   f"<td>{', '.join(links)}</td></tr>")
    out.append("</table>")
    for r in runs:
        if r.extra_figures:
            out.append(f"<h3>Further figures of <code>{html.escape(r.name)}</code></h3>")
            out += [_img(results, r.name, f) for f in r.extra_figures]
    return out


def _stability_md(results: Path) -> list[str]:
    stability = results / "stability" / "STABILITY.md"
    if not stability.is_file():  # written by `python -m xgnn_jax stability`
        return []
    body = stability.read_text().split("\n", 1)[1].replace("\n# ", "\n### ").replace("\n## ", "\n### ")
    return ["## Appendix: stability of the verdicts over seeds and compiler settings", body, ""]


def write_report(results: str | Path = "results", *, studies: Mapping[str, Any] | None = None,
                 failures: Mapping[str, str] | None = None) -> Path:
    """Write ``results/REPORT.md`` and ``results/REPORT.html``; returns the Markdown path.

    ``studies`` (name -> :class:`xgnn_jax.study.registry.Study`) gives the report order and lets the report tell
    quick from full settings for folders whose meta does not say; ``failures`` (name -> error) lists studies that
    raised. A ``results`` folder that does not exist is an error (``FileNotFoundError``), not an empty report."""
    results = Path(results)
    if not results.is_dir():
        raise FileNotFoundError(f"results: no such folder {str(results)!r}; run a study first "
                                "(python -m xgnn_jax run STUDY) or pass --results DIR")
    model = build(results, studies, failures)
    md = render_markdown(model) + "\n" + "\n".join(_stability_md(results))
    atomic_write_bytes(results / "REPORT.md", md.encode())
    page = render_html(model, results)
    stab = results / "stability" / "STABILITY.md"
    if stab.is_file():
        page = page.replace("</body></html>", "<h2>Appendix: stability of the verdicts</h2><pre>"
                            + html.escape(stab.read_text()) + "</pre></body></html>")
    atomic_write_bytes(results / "REPORT.html", page.encode())
    return results / "REPORT.md"
