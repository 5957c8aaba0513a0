"""`kv-cache`: the new row from cached K, V and the unchanged earlier rows proved; a cache that leaves out
the new token's own key, or no mask, is rejected; the Llama 3 8B figure; the FLOPs forms."""
from __future__ import annotations

from dataclasses import replace

import sympy as sp

from explainer import registry
from explainer.check import FAILED, PROVED, check, check_step, unfold
from explainer.derivations import kv_cache
from explainer.formats import render
from explainer.operators import Attn
from tests.derivations.steps import step_index

NAME = "kv-cache"


def test_report_ok_and_both_attention_steps_proved():
    report = check(registry.build(NAME))
    assert report.ok, report.failures
    assert report.result_for("step", 1).status == report.result_for("step", 2).status == PROVED


def _stacked(d):
    return dict(d.steps[0].where)


def test_forgetting_the_new_tokens_own_key_is_rejected():
    """Attention of q over the cached keys only (K_c, V_c) is not the new row."""
    d = registry.build(NAME)
    s = d.steps[0]
    q, Kc, Vc = (sp.MatrixSymbol(name, *shape) for name, shape in
                 (("q", (1, kv_cache.EX_DH)), ("K_c", (kv_cache.EX_C, kv_cache.EX_DH)),
                  ("V_c", (kv_cache.EX_C, kv_cache.EX_DH))))
    lhs = unfold(s.lhs, _stacked(d))
    assert check_step(lhs, replace(s, rhs=Attn(q, Kc, Vc), where=()))[0] == FAILED


def test_without_the_mask_earlier_rows_change():
    """Unmasked attention over all three tokens: the cached rows would not stay valid."""
    d = registry.build(NAME)
    s = d.steps[1]
    Q, K, V = (sp.MatrixSymbol(name, kv_cache.EX_C + 1, kv_cache.EX_DH) for name in ("Q", "K", "V"))
    unmasked = unfold(Attn(Q, K, V)[: kv_cache.EX_C, :], _stacked(d))
    assert check_step(unmasked, replace(s, where=()))[0] == FAILED


def test_llama3_cache_is_one_gib():
    c = kv_cache.LLAMA3_8B
    assert kv_cache.cache_bytes(c["layers"], c["kv_heads"], c["hidden"] // c["heads"], c["context"], 2) == 2**30


def test_flops_forms():
    forms = kv_cache.kv_cache_forms(layers=2, kv_heads=2, heads=4, head_dim=8, weights=100)
    (T, b), size = forms["cache_bytes"]
    assert size.subs({T: 7, b: 2}) == 2 * 2 * 2 * 8 * 7 * 2
    (t,), flops = forms["flops_cached"]
    assert flops.subs(t, 5) == 2 * 100 + 4 * 2 * 4 * 8 * 5


def test_positions_from_0_attend_to_one_more_key_and_an_off_by_one_is_rejected():
    """The token at position i (0 … t − 1) attends to i + 1 keys; summing 4·L·h·d_head·i instead (as if the
    token at position i saw only i keys) loses t keys' worth of FLOPs and the step fails."""
    d = registry.build(NAME)
    k = step_index(d, "without the cache the same token costs")
    s = d.steps[k]
    ((f_full, total),) = s.where
    (i, lo, hi), = total.limits
    assert (lo, hi) == (0, kv_cache.t - 1)
    assert check_step(total, replace(s, where=()))[0] == PROVED
    wrong = sp.Sum(total.function.subs(i + 1, i), total.limits)
    assert wrong != total
    assert check_step(wrong, replace(s, where=()))[0] == FAILED
