"""``softmax``: ``fn(x, dim)`` against softmax(x)ᵢ = exp(xᵢ) / Σⱼ exp(xⱼ) along ``dim``.

Cases: tensors of rank 1 to 4 with sizes 1 to 6, ``dim`` anywhere (negative too), scores of spread
1 and 4, and one case shifted by +1000 (the derivation proves softmax(x + c) = softmax(x), so an
implementation must not overflow there).
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import torch

from explainer.testing import probes
from explainer.testing.core import Case, Options, Spec, close, closed_form, probe_tolerance, to_numpy

SHIFT = 1000.0


def softmax_rows(x: np.ndarray, axis: int, name: str = "softmax", label: str = "softmax") -> np.ndarray:
    """The derivation's closed form applied along ``axis`` of ``x`` (float64), one row at a time."""
    moved = np.moveaxis(x, axis, -1)
    n = moved.shape[-1]
    rows = moved.reshape(-1, n)
    f = closed_form(name, label, n=n)
    out = np.stack([f(row[None, :]).reshape(n) for row in rows]) if rows.size else rows
    return np.moveaxis(out.reshape(moved.shape), -1, axis)


class SoftmaxSpec(Spec):
    name = "softmax"
    signature = "fn(x, dim)"

    def cases(self, seed: int, dtype: torch.dtype, options: Options) -> Iterator[Case]:
        rng = np.random.default_rng([seed, 17])
        for rank, spread, shift in ((1, 1.0, 0.0), (2, 4.0, 0.0), (3, 1.0, 0.0), (4, 1.0, 0.0), (2, 1.0, SHIFT)):
            shape = tuple(int(s) for s in rng.integers(1, 7, size=rank))
            dim = int(rng.integers(-rank, rank))
            values = rng.normal(0.0, spread, size=shape) + shift
            x = torch.tensor(values, dtype=dtype, device=options.device)
            shifted = f", shifted by +{shift:g}" if shift else ""
            yield Case(seed, dtype, f"x {tuple(shape)}, dim={dim}, scores of spread {spread:g}{shifted}",
                       {"x": x, "dim": dim})

    def call(self, fn: Callable, case: Case) -> np.ndarray:
        return to_numpy(fn(case.inputs["x"], case.inputs["dim"]))

    def expected(self, case: Case):
        return softmax_rows(to_numpy(case.inputs["x"]), case.inputs["dim"]), None, ""

    def diagnose(self, fn: Callable, case: Case, options: Options) -> str | None:
        x, dim = case.inputs["x"], case.inputs["dim"]
        tol = probe_tolerance(case.dtype)
        p = to_numpy(fn(x, dim))
        axis = dim % x.ndim
        if not np.all(np.isfinite(p)):  # NaN or inf from finite scores: most likely exp overflowed
            return self._shift(fn, x, dim, p, tol) or "the output has NaN or inf for finite scores"
        if probes.rows_sum_to_one(p, tol, axis) is not None:
            others = [a for a in probes.summing_axes(p, tol) if a != axis]
            if others:
                return (f"rows do not sum to 1 along dim={dim}; they do along dim={others[0]}: "
                        f"softmax seems taken over the wrong axis")
            return probes.rows_sum_to_one(p, tol, axis)
        return self._shift(fn, x, dim, p, tol) or self._scale(x, dim, p, tol)

    def _shift(self, fn, x, dim, p, tol) -> str | None:
        for c in (-float(x.double().mean()), SHIFT):
            shifted = to_numpy(fn(x + c, dim))
            if not close(shifted, p, tol):
                return (f"not invariant under a shift: softmax(x {c:+.4g}) differs from softmax(x) "
                        f"(the derivation proves they are equal; with large scores exp overflows unless the "
                        f"largest score is subtracted first)")
        return None

    def _scale(self, x, dim, p, tol) -> str | None:
        xs = np.moveaxis(to_numpy(x), dim, -1)
        t = probes.fit_scale(xs, np.moveaxis(p, dim, -1))
        if t is None or abs(t - 1) < 1e-3 or not close(softmax_rows(to_numpy(x) * t, dim), p, tol):
            return None
        return f"wrong scale: the output is softmax(t·x) with t = {t:.4g} instead of softmax(x)"
