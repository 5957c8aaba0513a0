"""assert_derivation_holds, and registering your own derivation (the user's point of view)."""
import pytest
import sympy as sp

from explainer import registry
from explainer.model import Derivation, Step, define, prove
from explainer.testing import assert_derivation_holds, assert_matches_derivation

a, b = sp.symbols("a b", real=True)


@pytest.fixture
def own_derivation():
    """A user's derivation: (a + b)² = a² + 2ab + b², registered with the decorator, removed afterwards."""

    @registry.derivation("my-square-of-a-sum", "The square of a sum", "vectors")
    def square() -> Derivation:
        s = sp.Symbol("s", real=True)
        return Derivation(summary="(a + b)² expands to a² + 2ab + b².",
                          steps=(define(s, a + b, "call the sum s"),
                                 Step(lhs=s**2, rhs=a**2 + 2 * a * b + b**2, why="expand", check=prove("expand"))),
                          result=Step(lhs=(a + b) ** 2, rhs=a**2 + 2 * a * b + b**2, why="the result"))

    yield "my-square-of-a-sum"
    registry.unregister("my-square-of-a-sum")


def test_a_registered_derivation_holds(own_derivation):
    report = assert_derivation_holds(own_derivation)
    assert report.statuses == {"assumed": 1, "proved": 2}
    assert report.verification == ()  # the numeric engine has no torch check for a user's derivation


def test_a_wrong_step_fails_and_names_it():
    wrong = Derivation(summary="a deliberately wrong step", name="my-wrong-step", title="Wrong", topic="vectors",
                       steps=(Step(lhs=(a + b) ** 2, rhs=a**2 + b**2, why="forgot the cross term"),),
                       result=Step(lhs=a * (a + 1), rhs=a**2 + a, why="a correct result"))
    registry.register(wrong)
    try:
        with pytest.raises(AssertionError, match=r"my-wrong-step: 1 step\(s\) of the derivation failed") as info:
            assert_derivation_holds("my-wrong-step")
        assert "step 1: differs at" in str(info.value)
    finally:
        registry.unregister("my-wrong-step")


def test_softmax_holds_with_its_torch_verification():
    report = assert_derivation_holds("softmax")
    assert report.steps.ok and report.statuses.get("failed", 0) == 0


def test_matching_needs_a_known_signature(own_derivation):
    with pytest.raises(ValueError, match="does not know how to call a function"):
        assert_matches_derivation(own_derivation, lambda *args: None)
