"""The three sharded derivations: every step proved, and the checker rejects a wrong split."""
from __future__ import annotations

from dataclasses import replace

import pytest
import sympy as sp

from explainer import registry
from explainer.check import FAILED, PROVED, check
from explainer.formats import render
from tests.derivations.steps import step_index

NAMES = ("tensor-parallel-attention", "tensor-parallel-mlp", "ring-attention")


@pytest.mark.parametrize("name", NAMES)
def test_every_step_checks_and_the_result_is_proved(name):
    report = check(registry.build(name))
    assert report.ok, [(r.label, r.detail) for r in report.failures]
    assert report.result_for("result", 1).status == PROVED


@pytest.mark.parametrize("name", NAMES)
def test_every_unicode_line_fits_100_columns(name):
    text = render(registry.build(name), "unicode")
    assert max(len(line) for line in text.splitlines()) <= 100


def _swap_step(d, k, step):
    return replace(d, steps=d.steps[:k] + (step,) + d.steps[k + 1:])


def test_mlp_missing_one_ranks_partial_output_fails():
    d = registry.build("tensor-parallel-mlp")
    k = step_index(d, "so the MLP is a sum of partial outputs")
    Y1, _, bias = d.steps[k].rhs.args
    forgot = replace(d.steps[k], rhs=sp.MatAdd(Y1, bias, evaluate=False))   # Y₂ left out: no all-reduce
    assert check(_swap_step(d, k, forgot)).result_for("step", k + 1).status == FAILED


def test_attention_with_w_o_cut_by_columns_fails():
    """The row-parallel step on its own (its heads H_r symbolic), with W_O cut the wrong way."""
    from explainer.derivations.tensor_parallel import Columns

    d = registry.build("tensor-parallel-attention")
    step = d.steps[step_index(d, "row parallel: W_O cut into row blocks")]
    assert check(replace(d, steps=(step,))).result_for("step", 1).status == PROVED
    (name, rows), = step.where
    halves = [sp.MatrixSymbol(f"C{r}", 4, 2) for r in (1, 2)]                  # the wrong cut: column blocks
    H = [sp.MatrixSymbol(f"H{r}", 2, 2) for r in (1, 2)]
    wrong = replace(step, where=((name, Columns(*halves)),),
                    rhs=sp.MatAdd(*(sp.MatMul(h, c.T) for h, c in zip(H, halves))))
    assert check(replace(d, steps=(wrong,))).result_for("step", 1).status == FAILED


def test_mlp_bias_counted_on_every_rank_fails():
    d = registry.build("tensor-parallel-mlp")
    k = step_index(d, "so the MLP is a sum of partial outputs")
    Y1, Y2, bias = d.steps[k].rhs.args
    twice = replace(d.steps[k], rhs=sp.MatAdd(Y1, Y2, bias, bias, evaluate=False))   # b₂ added on both ranks
    assert check(_swap_step(d, k, twice)).result_for("step", k + 1).status == FAILED


def test_ring_merge_without_rescaling_fails():
    d = registry.build("ring-attention")
    step = d.steps[0]
    where = tuple((name, value.replace(sp.exp, lambda _: sp.Integer(1)) if str(name).startswith("ℓ") else value)
                  for name, value in step.where)                               # ℓ₁₃ = ℓ₁ + ℓ₃, no e^{m − M}
    assert where != step.where
    assert check(_swap_step(d, 0, replace(step, where=where))).result_for("step", 1).status == FAILED


def test_ring_block_count_off_by_one_fails():
    d = registry.build("ring-attention")
    k = step_index(d, "rank r computes r + 1 of the p blocks")
    p = sp.Symbol("p", integer=True, positive=True)
    wrong = replace(d.steps[k], rhs=p * (p - 1) / 2)
    assert check(_swap_step(d, k, wrong)).result_for("step", k + 1).status == FAILED
    (r, low, high), = d.steps[k].lhs.limits                                    # ranks 0 … p − 1, as torch numbers them
    assert (low, high) == (0, p - 1) and d.steps[k].lhs.function == r + 1
