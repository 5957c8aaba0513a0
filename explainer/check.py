"""The step checker: every step of a derivation gets exactly one status.

* **proved** — SymPy rewrote ``lhs - rhs`` to 0 (or decided the sign, for an inequality).
* **checked numerically** — SymPy could not decide; both sides agree at many random points evaluated
  with 50 significant digits (mpmath). The report says how many points and the largest difference.
* **assumed** — a definition or an assumption: listed, never claimed as proved.
* **failed** — the step is wrong (a counterexample is given), or it could not be checked at all.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, replace

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from explainer.model import Check, Derivation, Step
from explainer.operators import MatrixOperator, ScalarOperator, explicit

PROVED, NUMERIC, ASSUMED, FAILED = "proved", "checked numerically", "assumed", "failed"
STATUSES = (PROVED, NUMERIC, ASSUMED, FAILED)

DIGITS = 50  # significant digits for numeric checks
TOLERANCE = sp.Float("1e-30", DIGITS)  # relative to the size of the two sides

METHODS = {
    "doit": lambda e: explicit(e),
    "expand": sp.expand,
    "cancel": sp.cancel,
    "together": sp.together,
    "factor": sp.factor,
    "trigsimp": sp.trigsimp,
    "expand_trig": sp.expand_trig,
    "powsimp": lambda e: sp.powsimp(e, force=True),
    "powdenest": lambda e: sp.powdenest(e, force=True),
    "expand_log": lambda e: sp.expand_log(e, force=True),
    "logcombine": lambda e: sp.logcombine(e, force=True),
    "rewrite_exp": lambda e: e.rewrite(sp.exp),
    "expand_func": sp.expand_func,
    "radsimp": sp.radsimp,
    "sums": lambda e: canonical_sums(sp.expand(e)),
    "simplify": sp.simplify,
}
DEFAULT_METHODS = ("doit", "expand", "sums", "cancel", "simplify")


def canonical_sums(e):
    """Pull factors that do not depend on the index out of each ``Sum`` and rename its index
    canonically, so ``Σ_i f(i)`` and ``Σ_j f(j)`` become the same expression."""

    def rename(s):
        for depth, (var, *_) in enumerate(s.limits):
            s = s.xreplace({var: sp.Symbol(f"_idx{depth}", integer=True)})
        return s

    is_sum = lambda a: isinstance(a, sp.Sum)  # noqa: E731
    return e.replace(is_sum, sp.factor_terms).replace(is_sum, rename)


@dataclass(frozen=True, slots=True)
class StepResult:
    """The outcome of checking one step; ``points``/``max_diff`` are set for numeric checks."""

    section: str
    number: int
    status: str
    detail: str
    points: int | None = None
    max_diff: float | None = None
    seconds: float = 0.0

    @property
    def label(self) -> str:
        return f"{self.section} {self.number}"


@dataclass(frozen=True, slots=True)
class Report:
    """Every step's result for one derivation."""

    name: str
    results: tuple[StepResult, ...]
    seconds: float
    cached: bool = False

    @property
    def ok(self) -> bool:
        return all(r.status != FAILED for r in self.results)

    @property
    def failures(self) -> tuple[StepResult, ...]:
        return tuple(r for r in self.results if r.status == FAILED)

    def result_for(self, section: str, number: int) -> StepResult:
        return next(r for r in self.results if (r.section, r.number) == (section, number))


def check(derivation: Derivation) -> Report:
    """Check every step, the result and the worked example of ``derivation``.

    Besides each relation, two rules about how it is written: a checked step whose two sides are the
    same as written proves nothing (:data:`VACUOUS`), and a definition that nothing later refers to is
    not tied to the derivation (:data:`UNUSED`); both fail the step.
    """
    start = time.perf_counter()
    items = derivation.all_steps()
    results, previous, defs = [], {}, {}
    for k, (section, number, step) in enumerate(items):
        lhs = step.lhs if step.lhs is not None else previous.get(section)
        t0 = time.perf_counter()
        if step.check.kind == "assume" and _is_name(step.lhs):
            defs[step.lhs] = step.rhs
        defs.update({name: value for name, value in step.where if _is_name(name)})
        outcome = _written_form_problem(lhs, step, items[k + 1:])
        if outcome is None:
            outcome = check_step(unfold(lhs, defs), replace(step, rhs=unfold(step.rhs, defs)),
                                 seed=f"{derivation.name}/{section}/{number}")
        results.append(StepResult(section, number, *outcome, seconds=time.perf_counter() - t0))
        previous[section] = step.rhs
    return Report(derivation.name, tuple(results), time.perf_counter() - start)


VACUOUS = ("both sides are the same as written ({side}), so checking it proves nothing; write the side that is "
           "meant, kept unevaluated: a named operator from explainer.operators (e.g. Softmax(x + c) = Softmax(x)), "
           "evaluate=False, or a 'where' name for a big sub-expression")
UNUSED = ("'{name}' is defined but no later step, result or example refers to it; use it in the step it "
          "prepares, or remove the definition")


def _written_form_problem(lhs, step: Step, later) -> tuple | None:
    """``(FAILED, why, None, None)`` when ``step`` breaks a rule of the written form, else ``None``."""
    if step.check.kind != "assume":
        if lhs is not None and same_as_written(lhs, step.rhs):
            return FAILED, VACUOUS.format(side=_short(lhs)), None, None
        return None
    if _is_name(step.lhs) and not any(_refers_to(s, step.lhs) for _, _, s in later):
        return FAILED, UNUSED.format(name=_short(step.lhs)), None, None
    return None


def same_as_written(a, b) -> bool:
    """Whether two sides are the same expression as written (structure, or the printed form)."""
    a, b = sp.sympify(a), sp.sympify(b)
    return a == b or sp.sstr(a) == sp.sstr(b)


def _refers_to(step: Step, name) -> bool:
    """Whether ``step`` (either side, or a 'where' line) mentions the defined ``name``."""
    if isinstance(name, sp.Indexed):
        target = name.base  # a[i] := … defines a[j] too
    elif isinstance(name, sp.core.function.AppliedUndef):
        target = name.func  # f(x) := … defines f(y) too
    else:
        target = name
    parts = [step.lhs, step.rhs] + [e for pair in step.where for e in pair]
    return any(p is not None and sp.sympify(p).has(target) for p in parts)


def _short(e, width: int = 60) -> str:
    text = sp.sstr(e)
    return text if len(text) <= width else text[: width - 1] + "…"


def _is_name(e) -> bool:
    """A left-hand side that a definition gives a meaning to: a symbol, an indexed or matrix symbol,
    or an undefined function applied to arguments."""
    return isinstance(e, (sp.Symbol, sp.Indexed, sp.MatrixSymbol, sp.core.function.AppliedUndef))


def unfold(e, defs: dict):
    """``e`` with every defined name replaced by its definition (definitions may use earlier ones)."""
    if e is None or not defs:
        return e
    indexed = {lhs.base: (lhs.indices, rhs) for lhs, rhs in defs.items()
               if isinstance(lhs, sp.Indexed) and all(i.is_Symbol for i in lhs.indices)}

    def expand_indexed(a):  # s[i, j] := f(i, j) also defines s[i, l], s[1, 2], ...
        indices, rhs = indexed[a.base]
        return rhs.xreplace(dict(zip(indices, a.indices)))

    for _ in range(len(defs) + 1):
        new = sp.sympify(e).xreplace(defs)
        if indexed:
            new = new.replace(lambda a: isinstance(a, sp.Indexed) and a.base in indexed, expand_indexed)
        if new == e:
            return new
        e = new
    return e


def check_step(lhs, step: Step, seed: str = "") -> tuple:
    """``(status, detail, points, max_diff)`` for the relation ``lhs step.rel step.rhs``."""
    if step.check.kind == "assume":
        return ASSUMED, "definition or assumption", None, None
    if lhs is None:
        return FAILED, "nothing to compare with: the first step of a chain needs a left-hand side", None, None
    try:
        if step.check.kind == "prove":
            how = _prove(lhs, step)
            if how:
                return PROVED, how, None, None
        return _numeric(lhs, step, seed)
    except Exception as exc:  # a step SymPy cannot even evaluate is a failed step, named as such
        return FAILED, f"could not be checked: {type(exc).__name__}: {exc}", None, None


def difference(lhs, rhs):
    """``lhs - rhs``: an explicit matrix for matrix expressions of concrete shape, else a scalar
    expression. Named operators stay as written (the ``doit`` method expands them)."""
    lhs, rhs = sp.sympify(lhs), sp.sympify(rhs)
    if not (has_operators(lhs) or has_operators(rhs)):
        return _explicit(lhs - rhs)
    if isinstance(lhs, sp.MatrixExpr):  # kept unevaluated: explicit matrices would multiply out at once
        return sp.MatAdd(lhs, sp.MatMul(-1, rhs, evaluate=False), evaluate=False)
    return sp.Add(lhs, sp.Mul(-1, rhs, evaluate=False), evaluate=False)


def has_operators(e) -> bool:
    """Whether ``e`` contains a named operator (:mod:`explainer.operators`) still to be expanded."""
    return bool(sp.sympify(e).atoms(MatrixOperator, ScalarOperator)) if isinstance(e, sp.Basic) else False


def _entries(d) -> list:
    return list(d) if isinstance(d, sp.MatrixBase) else [d]


def _apply(name: str, d):
    """Rewrite ``d`` with method ``name``, entry by entry for an explicit matrix."""
    if isinstance(d, sp.MatrixBase):
        return d.applyfunc(METHODS[name])
    return _explicit(METHODS[name](d))


def _prove(lhs, step: Step) -> str | None:
    """The chain of rewrites that proves the step, or ``None`` if SymPy cannot decide it. Named operators
    are expanded first (``doit``), and the report says so."""
    d = difference(lhs, step.rhs)
    if step.rel in ("<", "<="):
        d = -d
    methods = step.check.methods or DEFAULT_METHODS
    if has_operators(d) and methods[0] != "doit":
        methods = ("doit",) + methods
    for i in range(len(methods) + 1):  # i = 0: as stated, then after each rewrite in turn
        if i:
            d = _apply(methods[i - 1], d)
        if all(_decided(e, step.rel) for e in _entries(d)):
            return f"SymPy: {' → '.join(methods[:i]) if i else 'directly'}"
    return None


def _decided(e, rel: str) -> bool:
    """``e`` (= lhs - rhs, sign-adjusted) is provably 0, > 0 or ≥ 0 as ``rel`` asks."""
    if rel == "=":  # an explicit matrix arrives entry by entry; a symbolic one must be the zero matrix
        return bool(e.is_ZeroMatrix) if isinstance(e, sp.MatrixExpr) else e.is_zero is True
    if rel in ("<", ">"):
        return e.is_positive is True
    return e.is_nonnegative is True


def _numeric(lhs, step: Step, seed: str) -> tuple:
    """Compare both sides at random points with 50 digits; the first disagreement fails the step."""
    rng = random.Random(seed)
    ranges = {name: (lo, hi) for name, lo, hi in step.check.ranges}
    worst = 0.0
    for _ in range(step.check.points):
        point, left, right = evaluate_at_random_point(lhs, step.rhs, rng, ranges)
        for a, b in zip(left, right):
            gap = _gap(a, b, step.rel)
            if gap is None:
                shown = [f"{k} = {v if v.is_Integer else sp.N(v, 6)}" for k, v in point.items()]
                where = ", ".join(shown[:8]) + (f", … ({len(shown) - 8} more)" if len(shown) > 8 else "")
                where = f" at {where}" if where else ""
                return (FAILED, f"differs{where}: left {sp.N(a, 8)}, right {sp.N(b, 8)}",
                        step.check.points, None)
            worst = max(worst, gap)
    label = "SymPy could not decide; " if step.check.kind == "prove" else ""
    detail = f"{label}agrees at {step.check.points} random points ({DIGITS} digits), largest difference {worst:.1e}"
    return NUMERIC, detail, step.check.points, worst


def _gap(a, b, rel: str):
    """The absolute difference when ``a rel b`` holds numerically (``0`` for a true inequality), else None."""
    if not (a.is_number and b.is_number):
        raise ValueError(f"expression still has symbols after substitution: {a - b}")
    scale = max(sp.Integer(1), abs(a), abs(b))
    diff = abs(a - b)
    if rel == "=":
        return float(diff) if diff <= TOLERANCE * scale else None
    d = sp.re(a - b) if rel in (">", ">=") else sp.re(b - a)
    strict = rel in ("<", ">")
    ok = d > TOLERANCE * scale if strict else d >= -TOLERANCE * scale
    return 0.0 if ok else None


def evaluate_at_random_point(lhs, rhs, rng: random.Random, ranges: dict) -> tuple[dict, list, list]:
    """Substitute random values for every symbol of both sides and evaluate them with 50 digits.

    Integer symbols (sizes, summation bounds) are drawn first so that sums and matrix shapes become
    concrete; then every remaining symbol, indexed element and matrix element gets a real value,
    positive where the symbol is declared positive.
    """
    point: dict = {}
    pair = [sp.sympify(lhs), sp.sympify(rhs)]
    ints = {s for e in pair for s in _integer_symbols(e)}
    for s in sorted(ints, key=str):
        lo, hi = ranges.get(str(s), (1, 5) if s.is_positive or s.is_nonnegative else (-5, 5))
        point[s] = sp.Integer(rng.randint(int(lo), int(hi)))
    pair = [_explicit(e.subs(point).doit()) for e in pair]  # subs leaves summation variables alone
    atoms = set()
    for e in pair:
        for entry in _entries(e):
            atoms |= entry.free_symbols | entry.atoms(sp.Indexed) | entry.atoms(MatrixElement)
    atoms = {a for a in atoms if not any(a in b.free_symbols for b in atoms if b is not a and not b.is_Symbol)}
    for a in sorted(atoms, key=str):
        point[a] = _random_value(a, rng, ranges)
    values = [[sp.N(entry.xreplace(point).doit(), DIGITS) for entry in _entries(e)] for e in pair]
    return point, values[0], values[1]


def _integer_symbols(e) -> set:
    """Free integer symbols of ``e``, including the sizes in the shapes of its matrix symbols."""
    found = set(e.free_symbols)
    for m in e.atoms(sp.MatrixSymbol):
        for dim in m.shape:
            found |= sp.sympify(dim).free_symbols
    return {s for s in found if s.is_Symbol and s.is_integer}


def _explicit(e):
    """A matrix expression of concrete shape as an explicit matrix; anything else unchanged."""
    if isinstance(e, sp.MatrixExpr) and not isinstance(e, sp.MatrixBase):
        if all(sp.sympify(dim).is_number for dim in e.shape):
            return e.as_explicit()
    return e


def _random_value(atom, rng: random.Random, ranges: dict):
    """A value for ``atom`` in its range: ``ranges`` by its own name (``a[1]``), else by its base's (``a``, ``M``),
    else (0.1, 3) when positive (an entry of a positive IndexedBase is), [0, 3] when non-negative, [−3, 3]."""
    base = atom.base.label if isinstance(atom, sp.Indexed) else getattr(atom, "parent", atom)
    lo, hi = ranges.get(str(atom), ranges.get(str(base), (None, None)))
    if lo is None:
        lo, hi = (0.1, 3.0) if atom.is_positive else (0.0, 3.0) if atom.is_nonnegative else (-3.0, 3.0)
    if atom.is_integer:
        return sp.Integer(rng.randint(int(lo), int(hi)))
    digits = "".join(str(rng.randint(0, 9)) for _ in range(DIGITS))
    return sp.Float(lo, DIGITS) + (sp.Float(hi, DIGITS) - sp.Float(lo, DIGITS)) * sp.Float("0." + digits, DIGITS)
