"""Compare a closed form (evaluated in float64) with what PyTorch computed, and say so in one row.

Two ways to pass, both PyTorch's own:

* **direct** — ``torch.testing.assert_close`` semantics with its default tolerances for the dtype the
  oracle ran in: ``|actual − expected| ≤ atol + rtol·|expected|`` everywhere.
* **fused kernels** — the method of PyTorch's ``test/test_transformers.py`` (``get_tolerances``): the
  math backend at the same dtype sets the scale, ``atol = factor·max(max|math − golden|, atol₀)`` and
  ``rtol = factor·max(max|math − golden|/|golden|, rtol₀)``, and the fused output must be within those
  of the float64 golden value (atol₀, rtol₀ are that file's defaults, looser than assert_close's for
  half precision).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
import math
from functools import lru_cache

import numpy as np

#: ``torch.testing.assert_close`` defaults (rtol, atol) by dtype name.
ASSERT_CLOSE = {"float64": (1e-7, 1e-7), "float32": (1.3e-6, 1e-5), "float16": (1e-3, 1e-5),
                "bfloat16": (1.6e-2, 1e-5)}
#: ``test/test_transformers.py`` defaults (rtol, atol) for fused-attention comparisons.
SDPA_DEFAULTS = {"float64": (1e-7, 1e-7), "float32": (1.3e-6, 1e-5), "float16": (1e-3, 1e-3),
                 "bfloat16": (1.6e-2, 1e-3)}
FUSED_FACTOR = 4.0  # PyTorch's fudge factor for SDPA outputs against the math reference

PASSED, FAILED, SKIPPED, FINDING = "passed", "failed", "skipped", "finding"


@dataclass
class Result:
    """One row of ``explainer verify``."""

    derivation: str
    check: str
    device: str
    dtype: str
    max_abs: float | None
    max_rel: float | None
    tolerance: str
    status: str
    notes: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def to_numpy(x) -> np.ndarray:
    """A float64 numpy copy of a tensor, array or number."""
    if hasattr(x, "detach"):
        x = x.detach().to("cpu")
        x = x.double() if x.is_floating_point() else x
        return x.numpy()
    return np.asarray(x, dtype=np.float64)


def errors(expected, actual) -> tuple[float, float]:
    """Largest absolute error and largest relative error (over entries with expected ≠ 0)."""
    e, a = to_numpy(expected), to_numpy(actual)
    diff = np.abs(a - e)
    nonzero = e != 0
    rel = float(np.max(diff[nonzero] / np.abs(e[nonzero]))) if nonzero.any() else 0.0
    return float(np.max(diff)) if diff.size else 0.0, rel


def within(expected, actual, rtol: float, atol: float) -> bool:
    """assert_close's rule, entry by entry: |a − e| ≤ atol + rtol·|e| (NaN only where both are NaN)."""
    e, a = to_numpy(expected), to_numpy(actual)
    if e.shape != a.shape:
        return False
    same_nan = np.isnan(e) & np.isnan(a)
    with np.errstate(invalid="ignore"):
        ok = np.abs(a - e) <= atol + rtol * np.abs(e)
    return bool(np.all(ok | same_nan))


def direct(derivation: str, check: str, run_info: tuple[str, str], expected, actual,
           notes: str = "", dtype: str | None = None, table: dict = ASSERT_CLOSE) -> Result:
    """Compare with the assert_close defaults of ``dtype`` (the run's dtype unless given); ``table``
    may name another of PyTorch's tolerance tables (:data:`SDPA_DEFAULTS` for attention kernels)."""
    device, run_dtype = run_info
    dtype = dtype or run_dtype
    rtol, atol = table[dtype]
    abs_err, rel_err = errors(expected, actual)
    status = PASSED if within(expected, actual, rtol, atol) else FAILED
    return Result(derivation, check, device, dtype, abs_err, rel_err, f"rtol {rtol:g}, atol {atol:g}", status, notes)


def fused_tolerance(golden, math_out, dtype: str, factor: float = FUSED_FACTOR) -> tuple[float, float]:
    """(rtol, atol) from the math backend's own error at ``dtype`` (PyTorch's get_tolerances)."""
    rtol0, atol0 = SDPA_DEFAULTS[dtype]
    abs_err, rel_err = errors(golden, math_out)
    return factor * max(rel_err, rtol0), factor * max(abs_err, atol0)


def fused(derivation: str, check: str, device: str, dtype: str, golden, fused_out, math_out,
          notes: str = "") -> Result:
    """Judge a fused kernel's output against the float64 golden value, scaled by the math backend's error."""
    rtol, atol = fused_tolerance(golden, math_out, dtype)
    abs_err, rel_err = errors(golden, fused_out)
    status = PASSED if within(golden, fused_out, rtol, atol) else FAILED
    return Result(derivation, check, device, dtype, abs_err, rel_err,
                  f"{FUSED_FACTOR:g}× math: rtol {rtol:.2g}, atol {atol:.2g}", status, notes)


# --- closed forms ------------------------------------------------------------------------------
class NoClosedForm(Exception):
    """The derivation (or the label asked for) has no closed form yet."""


@lru_cache(maxsize=None)
def closed_form(name: str, label: str, **sizes: int):
    """``sympy.lambdify`` of the derivation's closed form ``label`` at ``sizes`` (numpy, float64).

    Raises :class:`NoClosedForm` if the derivation is not registered, has no ``closed_forms`` or no
    such label.
    """
    import sympy as sp

    from explainer import registry
    from explainer.errors import UsageError

    try:
        derivation = registry.build(name)
    except UsageError:
        raise NoClosedForm(f"derivation {name!r} is not registered yet") from None
    if derivation.closed_forms is None:
        raise NoClosedForm(f"{name} has no closed form yet")
    forms = derivation.closed_forms(**sizes)
    if label not in forms:
        raise NoClosedForm(f"{name} has no closed form {label!r} yet (has: {', '.join(forms) or 'none'})")
    args, expr = forms[label]
    fn = sp.lambdify(args, expr, [{"erf": _ERF}, "numpy"], cse=True)
    shapes = [tuple(int(s) for s in a.shape) if hasattr(a, "shape") else () for a in args]

    def evaluate(*values):
        with np.errstate(all="ignore"):  # 0/0 of a fully masked row is NaN, as the derivation says
            return np.asarray(fn(*(_arg(v, s) for v, s in zip(values, shapes))), dtype=np.float64)
    evaluate.shapes = shapes
    return evaluate


_ERF = np.vectorize(math.erf, otypes=[float])  # NumPy has no erf; math.erf is exact to float64


def _arg(value, shape: tuple):
    """A float64 array laid out as the matrix symbol ``shape`` (a row b of d entries fits a (1, d) or
    (d, 1) symbol), keeping a trailing batch axis if there is one; scalars pass through."""
    if not (hasattr(value, "detach") or isinstance(value, np.ndarray)):
        return value
    value = to_numpy(value)
    size = int(np.prod(shape)) if shape else 1
    if not shape or value.shape == shape:
        return value
    if value.size == size:
        return value.reshape(shape)
    if value.ndim >= 1 and value.size == size * value.shape[-1]:
        return value.reshape(*shape, value.shape[-1])
    return value


def skipped(derivation: str, check: str, run_info: tuple[str, str], why: str) -> Result:
    device, dtype = run_info
    return Result(derivation, check, device, dtype, None, None, "-", SKIPPED, why)


def exact(derivation: str, check: str, device: str, expected: int, actual: int, notes: str = "") -> Result:
    """Integers (parameter counts, FLOPs, entries) must agree exactly."""
    diff = abs(int(expected) - int(actual))
    rel = diff / abs(int(expected)) if expected else float(diff)
    return Result(derivation, check, device, "int64", float(diff), rel, "exact",
                  PASSED if diff == 0 else FAILED, notes or f"{int(expected):,} vs {int(actual):,}")
