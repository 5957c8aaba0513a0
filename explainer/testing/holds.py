"""``assert_derivation_holds``: a derivation's steps are checked and its closed form verified.

Two checks, the same ones ``explainer check`` and ``explainer verify`` run:

1. every step, the result and the worked example (:func:`explainer.check.check`): none may fail;
2. the verification against PyTorch on the CPU by the numeric engine, for the derivations it knows.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from explainer import registry
from explainer.check import Report, check


@dataclass(frozen=True)
class HoldsReport:
    """What ``assert_derivation_holds`` checked: the step report and the verification rows of
    ``explainer verify NAME --device cpu --dtype float64 --size tiny`` (``()`` when the numeric engine
    has no check for this derivation)."""

    name: str
    steps: Report
    verification: tuple

    @property
    def statuses(self) -> dict[str, int]:
        """How many steps ended in each status (``proved``, ``checked numerically``, ``assumed``)."""
        counts: dict[str, int] = {}
        for r in self.steps.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        return counts


def assert_derivation_holds(name: str) -> HoldsReport:
    """Assert that every step of derivation ``name`` checks and that it matches PyTorch.

    Raises ``AssertionError`` listing each failed step (with the checker's counterexample) or each
    failed verification row. Returns a :class:`HoldsReport` otherwise.

    >>> report = assert_derivation_holds("softmax")
    >>> report.steps.ok
    True
    """
    __tracebackhide__ = True  # pytest shows the caller's line and the message, not these frames
    derivation = registry.build(name)
    report = check(derivation)
    if not report.ok:
        lines = [f"{name}: {len(report.failures)} step(s) of the derivation failed the check"]
        lines += [f"  {r.label}: {r.detail}" for r in report.failures]
        raise AssertionError("\n".join(lines))
    rows = verification(name)
    failed = [r for r in rows if r.status == "failed"]
    if failed:
        lines = [f"{name}: the closed form does not match PyTorch ({len(failed)} of {len(rows)} checks failed)"]
        lines += [f"  {r.check} ({r.device}, {r.dtype}): largest error {r.max_abs} absolute, {r.max_rel} relative, "
                  f"tolerance {r.tolerance} {r.notes}".rstrip() for r in failed]
        raise AssertionError("\n".join(lines))
    return HoldsReport(name, report, rows)


def verification(name: str) -> tuple:
    """The numeric engine's rows for ``name`` on the CPU in float64 (tiny sizes); ``()`` when it has none."""
    from explainer.numeric.checks import CHECKS
    from explainer.numeric.verify import verify

    if name not in CHECKS:
        return ()
    return tuple(verify([name], _context()))


@functools.lru_cache(maxsize=1)
def _context():
    """One CPU float64 context, so the reference run is made once for all derivations."""
    import torch

    from explainer.numeric.checks.base import Context
    from explainer.numeric.config import preset

    return Context(preset("tiny"), torch.device("cpu"), torch.float64, 0)
