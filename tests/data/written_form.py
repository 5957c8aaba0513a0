"""A user's derivations that break the rules of the written form: ``user-vacuous`` has a step whose two
sides are the same as written (step 2), ``user-unused`` a definition nothing refers to (step 1)."""
from __future__ import annotations

import sympy as sp

from explainer.model import Derivation, Step, define
from explainer.registry import derivation

x, y = sp.symbols("x y", real=True)


@derivation("user-vacuous", "A step that proves nothing", "vectors")
def vacuous() -> Derivation:
    return Derivation(summary="(x + y)² written twice.",
                      steps=(Step(lhs=(x + y) ** 2, rhs=x**2 + 2 * x * y + y**2, why="expand"),
                             Step(lhs=(x + y) ** 2, rhs=(x + y) ** 2, why="the same thing again")),
                      result=Step(lhs=(x + y) ** 2, rhs=x**2 + 2 * x * y + y**2, why="the square of a sum"))


@derivation("user-unused", "A definition nothing uses", "vectors")
def unused() -> Derivation:
    return Derivation(summary="A definition that is never used.",
                      steps=(define(sp.Symbol("s"), x + y, "s is the sum"),
                             Step(lhs=x * (x + 1), rhs=x**2 + x, why="expand")),
                      result=Step(lhs=x * (x + 1), rhs=x**2 + x, why="the result"))
