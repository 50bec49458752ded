"""The verdicts of the backprop_check study (C9, C10, C12, C13, C14), from its measured rows."""

from __future__ import annotations

from xgnn_jax.study.verdict import Verdict, verdict

from .report import fmt


def verdicts(runs, zoo, c10, hidden_one_rel, cfg, zoo_sizes) -> list[Verdict]:
    """C9, C10, C12 (hand-derived gradients of the chapter's networks), then C13 and C14 (the article's code)."""
    by_claim = {c: [r for r in runs if r["claim"] == c] for c in ("C9", "C12", "C13", "C14")}
    draws = f"{cfg.seeds} draws"
    return _chapter(by_claim, c10, cfg, draws) + _article(by_claim, runs, zoo, hidden_one_rel, draws, zoo_sizes)


def _worst(rs, j):
    return max(r["errors"][j] for r in rs)


def _chapter(by_claim, c10, cfg, draws) -> list[Verdict]:
    r232 = by_claim["C9"][0]
    out = [verdict(
        "C9", r232["as_expected"],
        "Do the 2-3-2 network's hand-derived gradients (sigmoid hidden, softmax, cross-entropy) equal autodiff, with "
        "o - o* at the logits?",
        f"max rel error over {draws}: manual vs jax.grad {fmt(r232['errors'][0])}, manual vs finite differences "
        f"{fmt(r232['errors'][1])}, jax.grad vs finite differences {fmt(r232['errors'][2])}; softmax CE logit "
        f"gradient vs (o - o*)/N: {fmt(c10['ce_grad_err'])}.", setting="float64, batch of "
        f"{cfg.batch}, weights fan-in uniform, biases N(0, 0.25)")]
    ok10 = (c10["softmax_sum_err"] <= 1e-12 and c10["softmax_sum_err_saturated"] <= 1e-12
            and max(c10["ce_grad_err"], c10["bce_grad_err"], c10["half_sse_sigmoid_grad_err"]) <= 1e-12
            and c10["sigmoid_sum_max"] - c10["sigmoid_sum_min"] > 0.5 and c10["losses_finite_saturated"])
    out.append(verdict(
        "C10", ok10,
        "Do softmax outputs sum to 1 while independent sigmoids need not, and do the CE, BCE and sigmoid + 1/2 SSE "
        "logit gradients have the stated forms?",
        f"max |sum softmax - 1| = {fmt(c10['softmax_sum_err'])} ({fmt(c10['softmax_sum_err_saturated'])} for "
        f"saturated logits); 5 sigmoid outputs sum to between {c10['sigmoid_sum_min']:.2f} and "
        f"{c10['sigmoid_sum_max']:.2f}; max abs gradient-form errors: CE {fmt(c10['ce_grad_err'])}, BCE "
        f"{fmt(c10['bce_grad_err'])}, sigmoid + 1/2 SSE {fmt(c10['half_sse_sigmoid_grad_err'])}.",
        setting="float64, 32 examples x 5 outputs, logits N(0, 9)"))
    c12 = by_claim["C12"]
    depths = [r["hidden_layers"] for r in c12]
    acts = sorted({r["hidden"] for r in c12})
    loss_names = sorted({r["loss"] for r in c12})
    reductions = sorted({r["reduction"] for r in c12})
    out.append(verdict(
        "C12", all(r["as_expected"] for r in c12),
        "Does the vectorised L-layer backward pass equal autodiff for any depth, activation, loss and reduction?",
        f"{len(c12) - 1} architectures plus the book's eqs. 5.10-5.15 ({min(depths)}-{max(depths)} hidden layers; "
        f"hidden units {', '.join(acts)}; {len(loss_names)} losses ({', '.join(loss_names)}); reductions "
        f"{' and '.join(reductions)}), {draws} each: max rel error manual vs jax.grad "
        f"{fmt(_worst(c12, 0))}, manual vs finite differences {fmt(_worst(c12, 1))}, jax.grad vs finite differences "
        f"{fmt(_worst(c12, 2))}.",
        setting="float64; full central-difference gradients, eps 1e-5"))
    return out


def _article(by_claim, runs, zoo, hidden_one_rel, draws, zoo_sizes) -> list[Verdict]:
    out = []
    fixed, printed = by_claim["C13"]
    printed_rel = [float(v) for v in printed["errors"][:1]]
    ok13 = fixed["as_expected"] and printed["as_expected"] and abs(printed_rel[0] - 0.5) < 1e-9
    out.append(verdict(
        "C13", ok13,
        "Are the numpy two-layer net's hand-written gradients right once the factor 2 is restored, and is the printed "
        "line's factor missing?",
        f"factor 2 restored: max rel error vs jax.grad {fmt(fixed['errors'][0])}, directional finite differences "
        f"{fmt(fixed['errors'][1])}; as printed (factor 1): max rel error {printed_rel[0]:.6f} on every leaf, i.e. "
        f"every gradient halved; flagged against directional finite differences too ({fmt(printed['errors'][1])}).",
        setting=f"N, D_in, H, D_out = 64, 1000, 100, 10; x, y, w1, w2 ~ randn; float64; {draws}"))
    correct = next(z for z in zoo if z["variant"] == "correct")
    bugs = [z for z in zoo if z["variant"] != "correct"]
    grad_bugs = [z for z in bugs if z["variant"] != "weights_uniform_0_1"]
    init_bug = next(z for z in bugs if z["variant"] == "weights_uniform_0_1")
    dnn_correct = next(r for r in runs if r["manual"] == "dnn")
    # The claim: the correct DNN matches autodiff, the gradient check flags every gradient bug, and every bug
    # (the init bug included) is caught by some check.
    ok14 = (dnn_correct["as_expected"] and not correct["caught"] and all(z["gradient_flagged"] for z in grad_bugs)
            and all(z["caught"] for z in bugs))
    # Its conditions, as measured: a bug the gradient check cannot flag (a wrong initialisation), and a bug the
    # article's own one-hidden-layer depth cannot show.
    init_unseen = not init_bug["gradient_flagged"]
    hidden_invisible = hidden_one_rel == 0.0
    conds = []
    if init_unseen:
        conds.append("drawing weights from U[0, 1) is not a gradient bug: it passes the gradient check and is caught "
                     f"by: {init_bug['caught_by']}")
    if hidden_invisible:
        conds.append("'hidden layers fed X' changes nothing with one hidden layer (max rel difference "
                     f"{fmt(hidden_one_rel)}), so it needs at least two hidden layers to be seen (and hidden widths "
                     "equal to the input width to run)")
    init_text = (f"U[0, 1) weights {'pass' if not init_bug['gradient_flagged'] else 'FAIL'} the gradient check and "
                 f"{'fail' if init_bug['init_flagged'] else 'pass'} the init check ({init_bug['init_check']})")
    out.append(verdict(
        "C14", ok14,
        "Does a correct generic DNN match autodiff, and does a check catch each bug of the article's class?",
        f"correct DNN: max rel error vs jax.grad {fmt(dnn_correct['errors'][0])}, vs finite differences "
        f"{fmt(dnn_correct['errors'][1])}; gradient check flags "
        f"{sum(z['gradient_flagged'] for z in grad_bugs)}/{len(grad_bugs)} gradient bugs ("
        + ", ".join(f"{z['variant']}: {fmt(next(r for r in runs if r['manual'] == 'dnn:' + z['variant'])['errors'][0])}"
                    for z in grad_bugs)
        + f"); {init_text}; caught by some check: {sum(z['caught'] for z in bugs)}/{len(bugs)} bugs; 'hidden "
        f"layers fed X' with one hidden layer (4-6-3): max rel difference from the correct gradient "
        f"{fmt(hidden_one_rel)}"
        + (", so the article's [1000, 100, 10] cannot show it." if hidden_invisible else "."),
        conditional=bool(conds),
        conditions="; ".join(conds),
        setting=f"DNN {'-'.join(map(str, zoo_sizes))}, 1/2 sum of squares (sum), non-zero biases, float64, {draws}; "
                "init check at 1000-100-10"))
    return out
