"""The data model: a derivation is an immutable sequence of steps.

A :class:`Step` states one relation ``lhs REL rhs`` (``=``, ``<``, ``≤``, ``>``, ``≥``), a one-line
justification in words, and *how* it is checked (:class:`Check`). A step whose ``lhs`` is ``None``
continues a chain: its left-hand side is the previous step's right-hand side, so

    Step(lhs=a, rhs=b), Step(rhs=c), Step(rhs=d)

reads ``a = b = c = d`` and each link is checked on its own. A :class:`Derivation` bundles the steps
with what a reader needs around them: a summary in plain words, the symbols (meaning and shape), the
assumptions, the result (closed form) and a worked example with small exact numbers.

Only plain Python values and SymPy expressions live here; nothing imports torch or manim.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

RELATIONS = ("=", "<", "<=", ">", ">=")


@dataclass(frozen=True, slots=True)
class Check:
    """How a step is checked.

    ``kind`` is ``"prove"`` (SymPy, with a numeric fallback that is labelled as such), ``"numeric"``
    (straight to high-precision random points, for steps a CAS cannot decide), or ``"assume"``
    (a definition or an assumption: listed, never claimed as proved).

    ``methods`` names the SymPy rewrites tried in order on ``lhs - rhs`` (see
    :data:`explainer.check.METHODS`); ``ranges`` narrows the sampling interval of named symbols for
    numeric checks (e.g. ``{"n": (1, 6)}`` for a symbolic length); ``points`` is how many random
    points a numeric check uses.
    """

    kind: str = "prove"
    methods: tuple[str, ...] = ()
    ranges: tuple[tuple[str, float, float], ...] = ()
    points: int = 24

    def __post_init__(self) -> None:
        if self.kind not in ("prove", "numeric", "assume"):
            raise ValueError(f"unknown check kind {self.kind!r}; use 'prove', 'numeric' or 'assume'")


PROVE = Check()
ASSUME = Check("assume")


def prove(*methods: str, **ranges: tuple[float, float]) -> Check:
    """A proof that tries the SymPy rewrites ``methods`` in order (numeric fallback labelled)."""
    return Check("prove", tuple(methods), tuple((k, *v) for k, v in ranges.items()))


def numeric(points: int = 24, **ranges: tuple[float, float]) -> Check:
    """A check at ``points`` random high-precision points; ``ranges`` bound named symbols."""
    return Check("numeric", (), tuple((k, *v) for k, v in ranges.items()), points)


@dataclass(frozen=True, slots=True)
class Step:
    """One relation ``lhs REL rhs`` with its justification; ``lhs=None`` continues the chain.

    ``where`` names sub-expressions so that a big side stays short: ``((S, Q*K.T/sqrt(d_k)),)`` prints
    ``where S = QKᵀ/√d_k`` under the step; the checker substitutes them (and later steps may use the
    names too).
    """

    rhs: Any
    why: str
    lhs: Any = None
    rel: str = "="
    check: Check = PROVE
    where: tuple[tuple[Any, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.rel not in RELATIONS:
            raise ValueError(f"unknown relation {self.rel!r}; use one of {RELATIONS}")
        if not self.why.strip():
            raise ValueError("every step needs a justification in words")
        object.__setattr__(self, "where", tuple(tuple(pair) for pair in self.where))
        if any(len(pair) != 2 for pair in self.where):
            raise ValueError("each 'where' entry is a pair (name, expression)")


def define(lhs: Any, rhs: Any, why: str) -> Step:
    """A definition ``lhs := rhs``: assumed, never proved."""
    return Step(rhs=rhs, why=why, lhs=lhs, check=ASSUME)


@dataclass(frozen=True, slots=True)
class Symbol:
    """A symbol a reader meets: the SymPy object, what it means, and its shape if it is not a scalar."""

    symbol: Any
    meaning: str
    shape: str | None = None


@dataclass(frozen=True, slots=True)
class Derivation:
    """A titled derivation: summary, symbols, assumptions, steps, result and a worked example.

    ``steps`` and ``example`` are tuples of :class:`Step`; ``result`` is the closed form as one
    :class:`Step` (checked like the others). In a notebook the object shows itself as LaTeX
    (``_repr_latex_``) and Markdown (``_repr_markdown_``).

    ``closed_forms(**sizes)`` (optional) gives the result for concrete sizes as
    ``{label: (args, expr)}`` ready for ``sympy.lambdify(args, expr)``: ``args`` are SymPy symbols or
    matrix symbols whose names say which tensor of the reference run they stand for (``Q``, ``K``,
    ``V``, ``x``, ``W``…). The numeric engine evaluates them in float64 and compares with PyTorch.
    """

    steps: tuple[Step, ...]
    result: Step
    summary: str
    symbols: tuple[Symbol, ...] = ()
    assumptions: tuple[str, ...] = ()
    example: tuple[Step, ...] = ()
    example_title: str = ""
    name: str = ""
    title: str = ""
    topic: str = ""
    notes: tuple[str, ...] = field(default=())
    closed_forms: Callable[..., dict[str, tuple]] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for attr in ("steps", "symbols", "assumptions", "example", "notes"):
            object.__setattr__(self, attr, tuple(getattr(self, attr)))
        if not self.steps:
            raise ValueError("a derivation needs at least one step")

    def with_meta(self, name: str, title: str, topic: str) -> Derivation:
        """The same derivation under the given name, title and topic."""
        return replace(self, name=name, title=title, topic=topic)

    def all_steps(self) -> tuple[tuple[str, int, Step], ...]:
        """Every checked item as ``(section, number, step)``: steps, then the result, then the example."""
        items = [("step", i, s) for i, s in enumerate(self.steps, 1)]
        items.append(("result", 1, self.result))
        items += [("example", i, s) for i, s in enumerate(self.example, 1)]
        return tuple(items)

    def _repr_latex_(self) -> str:
        from explainer.formats import render

        return render(self, "latex")

    def _repr_markdown_(self) -> str:
        from explainer.formats import render

        return render(self, "markdown")
