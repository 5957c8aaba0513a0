"""``cross-entropy``: ``fn(logits, targets)`` with mean reduction, and its gradient through autograd.

``logits`` (N, V) float, ``targets`` (N,) int64; expected loss = (1/N) Σ_rows CE(z, onehot(y)) and
expected ∂loss/∂z = (softmax(z) − onehot(y)) / N, both from the derivation's closed forms per row.
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import torch

from explainer.testing.core import Case, Options, Spec, close, closed_form, compare, probe_tolerance, to_numpy

CASES = ((1, 2, 1.0, 0.0), (3, 5, 1.0, 0.0), (8, 4, 3.0, 0.0), (4, 5, 1.0, 1000.0))


def reference(z: np.ndarray, y: np.ndarray, label: str) -> np.ndarray:
    """Mean loss (scalar) or its gradient (N, V) from the closed forms, one row at a time."""
    N, V = z.shape
    f = closed_form("cross-entropy", label, V=V)
    onehot = np.eye(V)[y]
    rows = [f(z[i:i + 1], onehot[i:i + 1]) for i in range(N)]
    if label == "loss":
        return np.asarray(sum(float(np.asarray(r).reshape(())) for r in rows) / N)
    return np.stack([np.asarray(r).reshape(V) for r in rows]) / N


class CrossEntropySpec(Spec):
    name = "cross-entropy"
    signature = "fn(logits, targets) -> mean loss (differentiable)"

    def cases(self, seed: int, dtype: torch.dtype, options: Options) -> Iterator[Case]:
        rng = np.random.default_rng([seed, 61])
        for N, V, spread, shift in CASES:
            logits = torch.tensor(rng.normal(0.0, spread, size=(N, V)) + shift, dtype=dtype, device=options.device)
            targets = torch.tensor(rng.integers(0, V, size=N), device=options.device)
            text = f"logits ({N}, {V}) of spread {spread:g}" + (f", shifted by +{shift:g}" if shift else "")
            yield Case(seed, dtype, text + f", targets ({N},)", {"logits": logits, "targets": targets})

    def call(self, fn: Callable, case: Case, shift: float = 0.0) -> np.ndarray:
        return to_numpy(fn(case.inputs["logits"] + shift, case.inputs["targets"]))

    def expected(self, case: Case):
        z, y = to_numpy(case.inputs["logits"]), case.inputs["targets"].cpu().numpy()
        return reference(z, y, "loss"), None, ""

    def extra_checks(self, fn: Callable, case: Case, options: Options):
        z = case.inputs["logits"].clone().requires_grad_(True)
        try:
            fn(z, case.inputs["targets"]).backward()
        except Exception as exc:
            return (f"the loss could not be differentiated by autograd ({type(exc).__name__}: {exc}); the "
                    f"derivation's gradient (softmax(z) − onehot(y)) / N is checked through loss.backward()")
        grad = to_numpy(z.grad) if z.grad is not None else np.full(z.shape, np.nan)
        expected = reference(to_numpy(z), case.inputs["targets"].cpu().numpy(), "grad")
        mismatch = compare(grad, expected, *options.tolerance(case.dtype), what="gradient ∂loss/∂logits")
        if mismatch is None:
            return None
        sums = np.abs(grad.sum(axis=-1)).max()
        why = ("gradient rows do not sum to 0 (softmax(z) − onehot(y) does)" if sums > probe_tolerance(case.dtype)
               else "the gradient is not (softmax(z) − onehot(y)) / N")
        return mismatch, why

    def diagnose(self, fn: Callable, case: Case, options: Options) -> str | None:
        tol = probe_tolerance(case.dtype)
        actual, want = float(self.call(fn, case)), float(self.expected(case)[0])
        N = case.inputs["logits"].shape[0]
        if N > 1 and np.isfinite(actual) and close(actual, want * N, tol * N):
            return f"wrong scale: the loss is the sum over the {N} rows, not their mean (reduction='mean')"
        if not close(self.call(fn, case, shift=-float(case.inputs["logits"].double().mean())), actual, tol):
            return ("not invariant under a shift: CE(z + c) = CE(z) (logsumexp(z + c) − (z_y + c)); large logits "
                    "overflow unless the largest is subtracted first")
        return None
