"""`pre-vs-post-layernorm`: unrolling and the two Jacobians are proved; planted wrong block orders are rejected."""
from __future__ import annotations

from dataclasses import replace

from explainer import registry
from explainer.check import FAILED, PROVED, check
from explainer.derivations import block_order
from explainer.notation import Named
from tests.derivations.steps import step_index

NAME = "pre-vs-post-layernorm"


def test_report_ok_and_unrolling_proved():
    d = registry.build(NAME)
    report = check(d)
    assert report.ok
    assert report.result_for("result", 1).status == PROVED
    for text in ("unroll", "chain rule through two pre-LN", "post-LN: every factor"):
        assert report.result_for("step", step_index(d, text) + 1).status == PROVED


def test_a_block_that_reads_the_wrong_input_breaks_the_unrolling():
    d = registry.build(NAME)
    x0, x1 = (Named(f"x_{k}", f"x_{k}", real=True) for k in (0, 1))
    assert d.steps[1].rhs == x1 + block_order.G[1](x1)
    wrong = replace(d.steps[1], rhs=x1 + block_order.G[1](x0))  # x₂ = x₁ + G₁(x₀): skips a layer
    report = check(replace(d, steps=(d.steps[0], wrong) + d.steps[2:]))
    assert report.result_for("step", step_index(d, "unroll") + 1).status == FAILED
    assert not report.ok


def test_post_ln_written_in_pre_ln_order_fails_its_jacobian():
    d = registry.build(NAME)
    k = step_index(d, "post-LN block 2")
    y1 = d.steps[k - 1].lhs
    wrong = replace(d.steps[k], rhs=y1 + block_order.F[1](block_order.LN(y1)))  # pre-LN order
    report = check(replace(d, steps=d.steps[:k] + (wrong,) + d.steps[k + 1:]))
    assert report.result_for("step", step_index(d, "post-LN: every factor") + 1).status == FAILED


def test_every_model_named_with_its_order():
    notes = " ".join(registry.build(NAME).notes)
    for model in ("BERT", "GPT-2", "Llama", "Vaswani"):
        assert model in notes
    assert set(block_order.MODELS) == {"post-LN", "pre-LN"}
