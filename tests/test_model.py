"""The data model: immutable values, validation, sections."""
from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from explainer.model import ASSUME, Check, Derivation, Step, Symbol, define, numeric, prove

x = sp.Symbol("x")


def tiny() -> Derivation:
    return Derivation(steps=(define(sp.Symbol("y"), x**2, "definition"), Step(rhs=x * x, why="same")),
                      result=Step(lhs=sp.Symbol("y"), rhs=x**2, why="closed form"), summary="y = x²",
                      symbols=[Symbol(x, "a number")], example=[Step(lhs=sp.Integer(4), rhs=2**2, why="x = 2")])


def test_values_are_immutable():
    d = tiny()
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.title = "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.steps[0].why = "other"
    assert isinstance(d.symbols, tuple) and isinstance(d.example, tuple)


def test_all_steps_lists_steps_result_and_example_in_order():
    labels = [(section, n) for section, n, _ in tiny().all_steps()]
    assert labels == [("step", 1), ("step", 2), ("result", 1), ("example", 1)]


def test_with_meta_sets_name_title_topic_and_keeps_the_rest():
    d = tiny().with_meta("square", "Squares", "vectors")
    assert (d.name, d.title, d.topic) == ("square", "Squares", "vectors")
    assert d.steps == tiny().steps


@pytest.mark.parametrize("kwargs, message", [
    ({"rhs": x, "why": "w", "rel": "=="}, "unknown relation"),
    ({"rhs": x, "why": "  "}, "justification"),
])
def test_step_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Step(**kwargs)


def test_check_constructors():
    assert Check("nonsense" if False else "prove").kind == "prove"
    with pytest.raises(ValueError, match="unknown check kind"):
        Check("guess")
    assert prove("expand", n=(1, 3)) == Check("prove", ("expand",), (("n", 1, 3),))
    assert numeric(10, t=(0, 1)).points == 10 and define(x, x, "d").check == ASSUME


def test_a_derivation_needs_steps():
    with pytest.raises(ValueError, match="at least one step"):
        Derivation(steps=(), result=Step(rhs=x, why="r"), summary="s")


def test_notebook_display_uses_the_printers():
    d = tiny().with_meta("square", "Squares", "vectors")
    assert r"\begin{align*}" in d._repr_latex_()
    assert d._repr_markdown_().startswith("## Squares")
