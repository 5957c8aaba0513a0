"""``residual-layernorm``: ``fn(x, gamma, beta, eps)`` against LN(x) = γ ⊙ (x − μ)/√(σ² + ε) + β.

``x`` (..., d), ``gamma`` and ``beta`` (d,), ``eps`` a float; μ and σ² (biased, divide by d) over the
last axis, as ``nn.LayerNorm(d)`` / ``F.layer_norm(x, (d,), gamma, beta, eps)``. The closed form is
the derivation's row, evaluated one row at a time.
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import torch

from explainer.testing.core import TOLERANCES, Case, Options, Spec, close, closed_form, probe_tolerance, to_numpy

CASES = (((), 4, 1e-5), ((3,), 2, 1e-5), ((2, 3), 5, 1e-3), ((2, 4), 8, 1e-5), ((5,), 3, 0.1))


def layer_norm_reference(x, gamma, beta, eps: float) -> np.ndarray:
    d = x.shape[-1]
    f = closed_form("residual-layernorm", "layer_norm", d=d)
    rows = x.reshape(-1, d)
    out = np.stack([f(row[None], gamma[None], beta[None], eps).reshape(d) for row in rows])
    return out.reshape(x.shape)


class LayerNormSpec(Spec):
    name = "residual-layernorm"
    signature = "fn(x, gamma, beta, eps)"

    def cases(self, seed: int, dtype: torch.dtype, options: Options) -> Iterator[Case]:
        rng = np.random.default_rng([seed, 53])
        for batch, d, eps in CASES:
            arrays = {"x": rng.normal(1.0, 2.0, size=batch + (d,)), "gamma": rng.normal(1.0, 0.5, size=d),
                      "beta": rng.normal(0.0, 0.5, size=d)}
            inputs = {k: torch.tensor(a, dtype=dtype, device=options.device) for k, a in arrays.items()}
            inputs["eps"] = eps
            yield Case(seed, dtype, f"x {batch + (d,)}, gamma ({d},), beta ({d},), eps={eps:g}", inputs)

    def call(self, fn: Callable, case: Case, **replace) -> np.ndarray:
        a = {**case.inputs, **replace}
        return to_numpy(fn(a["x"], a["gamma"], a["beta"], a["eps"]))

    def expected(self, case: Case):
        x, gamma, beta = (to_numpy(case.inputs[k]) for k in ("x", "gamma", "beta"))
        return layer_norm_reference(x, gamma, beta, case.inputs["eps"]), None, ""

    def diagnose(self, fn: Callable, case: Case, options: Options) -> str | None:
        x, eps, tol = case.inputs["x"], case.inputs["eps"], probe_tolerance(case.dtype)
        d = x.shape[-1]
        plain = {"gamma": torch.ones_like(case.inputs["gamma"]), "beta": torch.zeros_like(case.inputs["beta"])}
        try:
            y = self.call(fn, case, **plain)                                  # (x − μ)/√(σ² + ε)
            shifted = self.call(fn, case, x=x + 3.0)
        except Exception:
            return None
        if not close(y.mean(axis=-1), 0.0, tol):
            return "with γ = 1, β = 0 the rows do not have mean 0: normalise over the last axis (the features)"
        if not close(shifted, self.call(fn, case), tol):
            return "not invariant under a shift: LN(x + c) must equal LN(x), since the mean is subtracted"
        variance = to_numpy(x).var(axis=-1)
        ratio = y.var(axis=-1) / (variance / (variance + eps))
        if d > 1 and close(ratio, (d - 1) / d, tol * 10):
            return "wrong scale: the variance divides by d − 1 (unbiased) instead of d, as the derivation and nn.LayerNorm do"
        if not close(ratio, 1.0, tol * 10):
            return f"wrong scale: with γ = 1, β = 0 the rows have variance {y.var(axis=-1).ravel()[0]:.4g} instead of σ²/(σ² + ε)"
        centred = to_numpy(x) - to_numpy(x).mean(axis=-1, keepdims=True)
        outside = np.abs(y - centred / (np.sqrt(variance[..., None]) + eps)).max()  # √σ² + ε
        inside = np.abs(y - centred / np.sqrt(variance[..., None] + eps)).max()     # √(σ² + ε), the derivation
        rtol, atol = TOLERANCES.get(case.dtype, TOLERANCES[torch.float32])
        if outside <= atol + rtol and outside < inside / 10:  # the two differ by about ε/(2σ): tell them apart
            return "ε added outside the square root: the derivation divides by √(σ² + ε), not √σ² + ε"
        return None
