"""The machinery behind :func:`explainer.testing.assert_matches_derivation`.

A *spec* (one per derivation) makes random input *cases*, calls the user's function on each, and
compares its output with the derivation's closed form evaluated in float64 (``sympy.lambdify``).
When a case fails, the spec probes the function a few more times to name the property of the
derivation it violates (rows that do not sum to 1, no invariance under a shift, a wrong scale, a mask
not respected). This module holds what every spec shares: cases, tolerances, the comparison, the
closed-form cache and the failure message.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import sympy as sp
import torch

from explainer import registry

#: ``torch.testing.assert_close`` defaults, (rtol, atol) per dtype.
TOLERANCES = {
    torch.float64: (1e-7, 1e-7),
    torch.float32: (1.3e-6, 1e-5),
    torch.float16: (1e-3, 1e-5),
    torch.bfloat16: (1.6e-2, 1e-5),
}
DEFAULT_SEEDS = (0, 1, 2)
DEFAULT_DTYPES = (torch.float64, torch.float32)


@dataclass(frozen=True)
class Options:
    """What a run covers: seeds, dtypes, device, and optional tolerance overrides."""

    seeds: tuple[int, ...] = DEFAULT_SEEDS
    dtypes: tuple[torch.dtype, ...] = DEFAULT_DTYPES
    device: str = "cpu"
    rtol: float | None = None
    atol: float | None = None
    masks: bool = True

    def tolerance(self, dtype: torch.dtype) -> tuple[float, float]:
        """(rtol, atol) for ``dtype``: the user's override, else ``torch.testing.assert_close``'s default."""
        rtol, atol = TOLERANCES.get(dtype, TOLERANCES[torch.float32])
        return (rtol if self.rtol is None else self.rtol, atol if self.atol is None else self.atol)


@dataclass
class Case:
    """One random input: its tensors (``inputs``, passed to the user's function) and a description."""

    seed: int
    dtype: torch.dtype
    description: str
    inputs: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)  # spec-private data (e.g. a mask's kind)

    def label(self) -> str:
        return f"seed {self.seed}, {str(self.dtype).removeprefix('torch.')}: {self.description}"


@dataclass(frozen=True)
class Mismatch:
    """Where the user's output differs most from the closed form."""

    max_abs: float
    max_rel: float
    index: tuple[int, ...]
    got: float
    expected: float
    count: int
    total: int
    what: str = "output"

    def describe(self, rtol: float, atol: float) -> str:
        where = f" at [{', '.join(map(str, self.index))}]" if self.index else ""
        return (f"largest error: {self.max_abs:.3g} absolute, {self.max_rel:.3g} relative, in the {self.what}"
                f"{where} (got {self.got:.6g}, expected {self.expected:.6g}); "
                f"{self.count} of {self.total} elements outside the tolerance (rtol {rtol:g}, atol {atol:g})")


def compare(actual, expected, rtol: float, atol: float, valid=None, what: str = "output") -> Mismatch | None:
    """The worst element of ``actual`` against ``expected`` (float64 arrays of one shape), or ``None``
    when every element with ``valid`` set satisfies ``|actual − expected| ≤ atol + rtol·|expected|``
    (the rule of ``torch.testing.assert_close``; a NaN where a number is expected always fails)."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    valid = np.ones(expected.shape, bool) if valid is None else np.broadcast_to(valid, expected.shape)
    with np.errstate(all="ignore"):
        err = np.abs(actual - expected)
        err = np.where(np.isnan(err) & ~np.isnan(expected), np.inf, err)
        bad = valid & ~(err <= atol + rtol * np.abs(expected))
        if not bad.any():
            return None
        score = np.where(bad, err, -1.0)
        index = np.unravel_index(int(np.argmax(score)), expected.shape)
        max_abs = float(np.max(np.where(valid, err, 0.0)))
        rel = np.where(valid & (np.abs(expected) > atol), err / np.abs(expected), 0.0)
    return Mismatch(max_abs, float(np.max(rel)), tuple(int(i) for i in index), float(actual[index]),
                    float(expected[index]), int(bad.sum()), int(valid.sum()), what)


def close(actual, expected, tol: float, valid=None) -> bool:
    """A loose check for probing properties: every valid element within ``tol`` (absolute); ``expected``
    may be a number or any shape that broadcasts to ``actual``'s."""
    actual = np.asarray(actual, dtype=np.float64)
    return compare(actual, np.broadcast_to(np.asarray(expected, dtype=np.float64), actual.shape), 0.0, tol,
                   valid) is None


def probe_tolerance(dtype: torch.dtype) -> float:
    """How far a property may be off before a probe calls it violated (well above rounding)."""
    rtol, atol = TOLERANCES.get(dtype, TOLERANCES[torch.float32])
    return max(1e-6, 100 * (rtol + atol))


def to_numpy(t) -> np.ndarray:
    """A tensor (or number) as a float64 numpy array on the CPU."""
    if isinstance(t, torch.Tensor):
        return t.detach().to("cpu", torch.float64).numpy()
    return np.asarray(t, dtype=np.float64)


@functools.lru_cache(maxsize=None)
def _lambdified(entry: registry.Entry, label: str, sizes: tuple[tuple[str, int], ...]) -> Callable:
    forms = _forms(entry, sizes)
    if label not in forms:
        raise KeyError(f"derivation {entry.name!r} has no closed form {label!r} (it has: {', '.join(forms)})")
    args, expr = forms[label]
    # cse: the explicit expressions repeat each softmax denominator many times
    return sp.lambdify(args, expr, "numpy", cse=True, use_imps=False, docstring_limit=0)


@functools.lru_cache(maxsize=None)
def _forms(entry: registry.Entry, sizes: tuple[tuple[str, int], ...]) -> dict:
    return _closed_forms(entry)(**dict(sizes))


@functools.lru_cache(maxsize=None)
def _closed_forms(entry: registry.Entry) -> Callable:
    forms = entry.build().closed_forms
    if forms is None:
        raise ValueError(f"derivation {entry.name!r} has no closed form to compare with")
    return forms


def closed_form(name: str, label: str, **sizes: int) -> Callable:
    """``explainer.registry.build(name).closed_forms(**sizes)[label]``, lambdified to numpy (cached).

    The returned function takes float64 arrays (one per argument of the closed form) and evaluates
    the derivation's expression entry by entry; floating-point warnings are silenced because a fully
    masked row is honestly ``0/0``.
    """
    fn = _lambdified(registry.get(name), label, tuple(sorted(sizes.items())))

    def evaluate(*args):
        with np.errstate(all="ignore"):
            return np.asarray(fn(*args), dtype=np.float64)

    return evaluate


class Spec:
    """How to test one derivation: random cases, the call, the closed form and the diagnosis.

    Subclasses set ``name`` and ``signature`` and implement :meth:`cases`, :meth:`call` (the user's
    output as a float64 array), :meth:`expected` (the closed form, with a mask of the elements the
    derivation defines) and :meth:`diagnose` (the violated property in words, or ``None``).
    """

    name = ""
    signature = ""

    def cases(self, seed: int, dtype: torch.dtype, options: Options) -> Iterator[Case]:
        raise NotImplementedError

    def call(self, fn: Callable, case: Case) -> np.ndarray:
        raise NotImplementedError

    def expected(self, case: Case) -> tuple[np.ndarray, np.ndarray | None, str]:
        """``(values, valid, note)``: ``valid`` marks defined elements (``None``: all); ``note`` says
        what was excluded and why ("" when nothing was)."""
        raise NotImplementedError

    def diagnose(self, fn: Callable, case: Case, options: Options) -> str | None:
        return None

    def tolerance(self, case: Case, rtol: float, atol: float) -> tuple[float, float]:
        """The (rtol, atol) for ``case``; by default the dtype's, unchanged."""
        return rtol, atol

    def extra_checks(self, fn: Callable, case: Case, options: Options) -> tuple[Mismatch, str] | str | None:
        """Further comparisons after the output matched (e.g. a gradient): ``None`` when they pass,
        ``(mismatch, property)`` when a value differs, or a sentence when the check could not run."""
        return None


@dataclass(frozen=True)
class Summary:
    """What a passing run covered (returned by ``assert_matches_derivation``)."""

    name: str
    cases: int
    excluded: tuple[str, ...] = ()


def run(spec: Spec, fn: Callable, options: Options) -> Summary:
    """Every case of ``spec`` against ``fn``; the first failing case raises ``AssertionError``."""
    __tracebackhide__ = True  # pytest shows the user's test line and the message, not these frames
    cases, excluded = 0, []
    for seed in options.seeds:
        for dtype in options.dtypes:
            for case in spec.cases(seed, dtype, options):
                cases += 1
                failure = _check_case(spec, fn, case, options)
                if failure is not None:
                    raise AssertionError(failure)
                note = spec.expected(case)[2]
                if note:
                    excluded.append(f"{case.label()}: {note}")
    return Summary(spec.name, cases, tuple(excluded))


def _check_case(spec: Spec, fn: Callable, case: Case, options: Options) -> str | None:
    """The failure message for ``case``, or ``None`` when it passes."""
    header = f"{spec.name}: your function does not match the derivation's closed form"
    try:
        actual = spec.call(fn, case)
    except AssertionError:
        raise
    except Exception as exc:  # the user's function raised: say on which input
        error = f"your function raised {type(exc).__name__}: {exc}"
        if isinstance(exc, TypeError) and "mask" in case.inputs:
            error += ("\n  hint: this case passes a mask as an extra positional argument; if your function "
                      "takes none, call assert_matches_derivation(..., masks=False)")
        return _message(header, spec, case, error, None, "", diagnosed=False)
    rtol, atol = spec.tolerance(case, *options.tolerance(case.dtype))  # after the call: it may set the dtype
    values, valid, note = spec.expected(case)
    if actual.shape != values.shape:
        return _message(header, spec, case, f"returned shape {actual.shape}, expected {values.shape}", None, note,
                        diagnosed=False)
    mismatch = compare(actual, values, rtol, atol, valid)
    prop = None
    if mismatch is None:
        extra = spec.extra_checks(fn, case, options)
        if extra is None:
            return None
        if isinstance(extra, str):
            return _message(header, spec, case, extra, None, note, diagnosed=False)
        mismatch, prop = extra
    else:
        try:  # a probe that trips over the user's function must not hide the mismatch itself
            prop = spec.diagnose(fn, case, options)
        except Exception:
            prop = None
    return _message(header, spec, case, mismatch.describe(rtol, atol), prop, note)


def _message(header: str, spec: Spec, case: Case, error: str, prop: str | None, note: str,
             diagnosed: bool = True) -> str:
    """The failure message; ``diagnosed=False`` when no values could be compared (the call raised, the
    shape is wrong), so no property line is printed."""
    lines = [header,
             f"  derivation: {spec.name} (read it with: explainer show {spec.name})",
             f"  called as: {spec.signature}",
             f"  failing case: {case.label()}",
             f"  {error}"]
    if diagnosed:
        lines.append(f"  property violated: {prop}" if prop else
                     "  property violated: none identified; the values differ from the closed form")
    if note:
        lines.append(f"  excluded: {note}")
    lines.append(f"  reproduce: assert_matches_derivation({spec.name!r}, fn, seeds=[{case.seed}], "
                 f"dtypes=[{case.dtype}])")
    return "\n".join(lines)
