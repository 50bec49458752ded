"""The article's PyTorch code (C15), run for real: ``TwoLayerNet``, ``MSELoss(reduction='sum')``, ``SGD(lr=1e-4)``.

:class:`TwoLayerNet` and the loop in :func:`train` are the article's lines (section 5.3); what is added is only
what a comparison needs: the starting weights come in through ``load_state_dict`` (:func:`state_dict_from_core`),
the loop runs ``steps`` times instead of the article's ``range(1)``, and the printed loss is recorded.

Layouts. ``torch.nn.Linear(d_in, d_out)`` stores ``weight: (d_out, d_in)`` and ``bias: (d_out,)`` and computes
``x @ weight.T + bias``; the core stores ``W: (d_in, d_out)`` and computes ``x @ W + b``. So
``weight = W.T`` both ways (:func:`state_dict_from_core`, :func:`core_from_state_dict`), exact.

Losses. The article's loop prints ``loss`` *before* each step's update: ``losses[t]`` is the objective at the
parameters after t updates, ``t = 0 .. steps`` (the last one measured after the loop). The core's
``history["loss"]`` is the objective after each update, i.e. ``losses[1:]``.

PyTorch is an optional dependency (the ``frameworks`` extra); importing this module without it raises
``ImportError`` (the tests treat that as a failure unless ``XGNN_ALLOW_MISSING_FRAMEWORKS=1``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


class TwoLayerNet(torch.nn.Module):
    """The article's model, verbatim: ``y_pred = linear2(linear1(x).clamp(min=0))``."""

    def __init__(self, D_in, H, D_out):  # noqa: N803 -- the article's names
        super(TwoLayerNet, self).__init__()  # noqa: UP008 -- the article's line
        self.linear1 = torch.nn.Linear(D_in, H)
        self.linear2 = torch.nn.Linear(H, D_out)

    def forward(self, x):
        h_relu = self.linear1(x).clamp(min=0)
        y_pred = self.linear2(h_relu)
        return y_pred


LAYERS = ("linear1", "linear2")
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _dtype(dtype: Any) -> torch.dtype:
    name = np.dtype(dtype).name
    if name not in DTYPES:
        raise ValueError(f"dtype: expected float32 or float64, got {name}")
    return DTYPES[name]


def state_dict_from_core(params: Sequence[dict], dtype: Any = np.float64) -> dict[str, torch.Tensor]:
    """The core's ``({"W": (d_in, H), "b": (H,)}, {"W": (H, d_out), "b": (d_out,)})`` as a ``TwoLayerNet``
    state dict (``linear{l}.weight = W.T``, ``linear{l}.bias = b``), in ``dtype``."""
    if len(params) != len(LAYERS) or not all(isinstance(p, dict) and set(p) == {"W", "b"} for p in params):
        raise ValueError("params: expected two {'W', 'b'} layer dicts (the core's TwoLayerNet parameters)")
    t = _dtype(dtype)
    out = {}
    for name, layer in zip(LAYERS, params, strict=True):
        out[f"{name}.weight"] = torch.from_numpy(np.array(layer["W"], dtype=np.float64).T.copy()).to(t)
        out[f"{name}.bias"] = torch.from_numpy(np.array(layer["b"], dtype=np.float64)).to(t)
    return out


def core_from_state_dict(state: dict[str, torch.Tensor]) -> tuple[dict, ...]:
    """A ``TwoLayerNet`` state dict as the core's parameter tuple (``W = weight.T``), numpy arrays."""
    return tuple({"W": state[f"{n}.weight"].detach().cpu().numpy().T.copy(),
                  "b": state[f"{n}.bias"].detach().cpu().numpy().copy()} for n in LAYERS)


def model_from_core(params: Sequence[dict], dtype: Any = np.float64) -> TwoLayerNet:
    """A ``TwoLayerNet`` of the core parameters' widths, loaded through ``load_state_dict``."""
    d_in, h = np.shape(params[0]["W"])
    d_out = np.shape(params[1]["W"])[1]
    model = TwoLayerNet(d_in, h, d_out).to(_dtype(dtype))
    model.load_state_dict(state_dict_from_core(params, dtype))
    return model


def train(model: TwoLayerNet, x: np.ndarray, y: np.ndarray, steps: int, lr: float = 1e-4) -> np.ndarray:
    """The article's training loop for ``steps`` iterations; returns the loss before each step and after the last
    one, ``(steps + 1,)`` float64. ``model`` is trained in place (its dtype sets the precision)."""
    if not isinstance(steps, int) or isinstance(steps, bool) or steps <= 0:
        raise ValueError(f"steps: expected a positive int, got {steps!r}")
    dtype = next(model.parameters()).dtype
    x = torch.from_numpy(np.asarray(x)).to(dtype)
    y = torch.from_numpy(np.asarray(y)).to(dtype)
    criterion = torch.nn.MSELoss(reduction='sum')
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _it in range(steps):
        # 前向传播 (forward)
        y_pred = model(x)
        # 计算损失 (loss)
        loss = criterion(y_pred, y)
        losses.append(loss.item())
        # 反向传播, 更新参数 (backward, update)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        losses.append(criterion(model(x), y).item())
    return np.asarray(losses, np.float64)
