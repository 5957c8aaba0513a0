"""`training-flops`: 6ND, backward = 2 × forward, the memory components; a planted wrong backward factor fails."""
from __future__ import annotations

from dataclasses import replace

from explainer import registry
from explainer.check import FAILED, check
from explainer.derivations import training_flops as tf
from tests.derivations.steps import step_index

NAME = "training-flops"


def test_report_ok():
    assert check(registry.build(NAME)).ok


def test_backward_costing_as_much_as_forward_is_rejected():
    d = registry.build(NAME)
    k = step_index(d, "so the backward pass costs twice")
    wrong = replace(d.steps[k], rhs=d.steps[k].rhs / 2)  # C_bwd = C_fwd: the 4ND rule
    report = check(replace(d, steps=d.steps[:k] + (wrong,) + d.steps[k + 1:]))
    assert report.result_for("step", step_index(d, "6N FLOPs per token for the weights") + 1).status == FAILED
    assert report.result_for("result", 1).status == FAILED


def test_worked_example_against_plain_arithmetic():
    e = tf.EXAMPLE
    flops = 6 * 7e9 * 2e12
    days = flops / (312e12 * 0.40) / 86400
    assert abs(days - 7790.24) < 0.01
    assert 0.9 < days * 24 / 184_320 < 1.1  # the Llama 2 paper's 7B GPU-hours, within 10 %
    d = registry.build(NAME)
    assert abs(float(d.example[2].rhs) - days) < 1e-6
    act = 32 * 4096 * 4096 * (34 + 5 * 32 * 4096 / 4096)
    assert int(d.example[4].rhs) == act == 104_152_956_928
    assert e["N"] == 7 * 10**9
