"""benchmarks/attention_scaling.py: its predictions come from `attention-cost`, its slope fit, its layer
and its CPU peak-memory measurement (the benchmark itself is not run here)."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import sympy as sp
import torch
from torch import nn
from torch.nn.attention import sdpa_kernel

from tests.files import load_file

PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "attention_scaling.py"


@pytest.fixture(scope="module")
def bench():
    return load_file(PATH, "attention_scaling_benchmark")


def test_slope_of_a_power_law(bench):
    ns = [128, 256, 512, 1024]
    assert bench.loglog_slope(ns, [3 * m**2 for m in ns]) == pytest.approx(2.0)
    assert bench.loglog_slope(ns, [5 * m for m in ns]) == pytest.approx(1.0)
    # an out-of-memory point (NaN) is left out of the fit; one point is no fit at all
    assert bench.loglog_slope(ns, [m**2 for m in ns[:3]] + [math.nan]) == pytest.approx(2.0)
    assert math.isnan(bench.loglog_slope(ns[:1], [1.0]))


def test_predictions_come_from_the_derivation(bench):
    n, forms, s = bench.attention_cost_forms()
    d, h, b = s["d"], s["h"], s["b"]
    assert sp.expand(forms["flops"] - (8 * n * d**2 + 4 * n**2 * d)) == 0
    assert sp.expand(forms["math"] - b * (2 * h * n**2 + 4 * n * d)) == 0
    assert sp.expand(forms["fused"] - 4 * b * n * d) == 0   # the math backend's memory without the n × n matrices
    limits = {kind: bench.asymptotic_slope(expr, n) for kind, expr in forms.items()}
    assert limits == {"flops": 2, "math": 2, "fused": 1}


def test_predicted_slope_over_a_range_lies_between_the_powers(bench):
    n, forms = bench.predictions(256, 4, 4)
    short, long = (bench.predicted_slope(forms["math"], n, ns) for ns in ([64, 128], [8192, 16384]))
    assert 1 < short < long < 2 and long == pytest.approx(2, abs=0.02)
    assert bench.predicted_slope(forms["fused"], n, [64, 128, 256]) == pytest.approx(1.0)


def test_layer_is_multihead_attention(bench):
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(16, 4, bias=False, batch_first=True).double()
    x = torch.randn(1, 10, 16, dtype=torch.float64)
    with torch.no_grad():
        expected, _ = mha(x, x, x, need_weights=False)
        actual = bench.attention_layer(x, mha.in_proj_weight, mha.out_proj.weight, 4)
    torch.testing.assert_close(actual, expected)


def test_cpu_peak_memory_sees_the_score_matrices(bench):
    """The math backend holds scores and weights (2·h·n² entries) at once; the flash kernel never does."""
    n, h, d_k = 256, 2, 32
    q, k, v = (torch.randn(1, h, n, d_k) for _ in range(3))
    peaks = {}
    for name in ("math", "flash"):
        def forward():
            with torch.no_grad(), sdpa_kernel([bench.BACKENDS[name]]):
                return torch.nn.functional.scaled_dot_product_attention(q, k, v)
        forward()
        peaks[name] = bench.peak_bytes(forward, torch.device("cpu"))
    scores = h * n * n * 4
    assert 2 * scores <= peaks["math"] < 3 * scores
    assert 0 < peaks["flash"] < scores
