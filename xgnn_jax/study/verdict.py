"""Verdicts: what a study concludes about one claim, in one of four words (see :data:`xgnn_jax.study.claims.VERDICTS`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from xgnn_jax.study.claims import VERDICTS

HOLDS, CONDITIONAL, FAILS, INCONCLUSIVE, NOT_MEASURED = VERDICTS


@dataclasses.dataclass(frozen=True)
class Number:
    """One key number of a verdict, for the report's small table: ``value`` with an optional interval
    ``[low, high]`` (say which in ``interval``, e.g. ``"95% Wilson"``, ``"IQR over 24 seeds"``) and a ``unit``."""

    name: str
    value: float | int | str
    low: float | None = None
    high: float | None = None
    interval: str = ""
    unit: str = ""


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What a study concludes about one claim (``C1``-``C24``) or one further question (any other id).

    ``verdict`` is one of ``"holds"``, ``"holds under conditions"`` (say which in ``conditions``),
    ``"does not hold"`` or ``"inconclusive"`` (the evidence cannot separate two outcomes at this sample size; say
    which and why in ``conditions``). ``measured`` states the numbers (with spread over seeds) the verdict rests
    on; it must be computed from the run, never written by hand.

    ``facts`` are the discrete findings the verdict and its conditions rest on (booleans, category names, lists of
    names; no raw numbers), e.g. ``{"widest_worse": []}``: what must not move with the seed or the compiler. The
    stability check (``python -m xgnn_jax stability``) compares the verdict word and these facts across runs.

    ``answer`` is the verdict in one plain sentence for a reader (no numbers dump); ``numbers`` are the few key
    :class:`Number` s (with intervals) the report shows in a small table.
    """

    claim: str
    verdict: str
    question: str
    measured: str
    setting: str = ""
    conditions: str = ""
    figures: tuple[str, ...] = ()
    facts: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    answer: str = ""
    numbers: tuple[Number, ...] = ()

    def __post_init__(self):
        if self.verdict not in VERDICTS[:4]:
            raise ValueError(f"verdict: expected one of {VERDICTS[:4]}, got {self.verdict!r}")
        if self.verdict in (CONDITIONAL, INCONCLUSIVE) and not self.conditions:
            raise ValueError(f"conditions: a verdict {self.verdict!r} must name its conditions (for "
                             "'inconclusive': which outcomes the evidence cannot separate, and why)")
        for name, value in self.facts.items():
            if isinstance(value, float):
                raise ValueError(f"facts[{name!r}]: a fact is discrete (bool, int count, name, list of names), "
                                 f"got the float {value!r}; put numbers in 'measured'")


def verdict(claim: str, ok: bool | None, question: str, measured: str, *, conditional: bool = False,
            conditions: str = "", setting: str = "", figures: Iterable[str] = (),
            facts: Mapping[str, Any] | None = None, answer: str = "",
            numbers: Iterable[Number] = ()) -> Verdict:
    """A :class:`Verdict` from a measured boolean: ``holds`` (or ``holds under conditions``) if ``ok``, ``does not
    hold`` if not, ``inconclusive`` if ``ok is None`` (the evidence could not decide)."""
    v = INCONCLUSIVE if ok is None else (CONDITIONAL if conditional else HOLDS) if ok else FAILS
    return Verdict(claim, v, question, measured, setting, conditions, tuple(figures), dict(facts or {}), answer,
                   tuple(numbers))
