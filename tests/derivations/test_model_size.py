"""`parameter-count` and `attention-cost`: steps proved, closed forms against independent counts
(tensor shapes listed by hand, published sizes) and against PyTorch's own modules and FLOP counter."""
from __future__ import annotations

import math
import random

import pytest
import sympy as sp

from explainer import registry
from explainer.check import ASSUMED, NUMERIC, PROVED, check


def _shapes_gpt2(L, d, V, n_ctx):
    """Every tensor of a GPT-2 checkpoint (as in the released weights), listed by shape."""
    block = [(d,), (d,), (d, 3 * d), (3 * d,), (d, d), (d,),          # ln_1, attn.c_attn, attn.c_proj
             (d,), (d,), (d, 4 * d), (4 * d,), (4 * d, d), (d,)]      # ln_2, mlp.c_fc, mlp.c_proj
    return [(V, d), (n_ctx, d)] + block * L + [(d,), (d,)]           # wte, wpe, blocks, ln_f (head = wte)


def _shapes_llama(L, d, h, h_kv, d_ff, V):
    """Every tensor of a Llama checkpoint, listed by shape."""
    kv = h_kv * (d // h)
    block = [(d, d), (kv, d), (kv, d), (d, d), (d_ff, d), (d_ff, d), (d, d_ff), (d,), (d,)]
    return [(V, d)] + block * L + [(d,), (V, d)]


def _count(shapes):
    return sum(math.prod(s) for s in shapes)


def _form(name, label):
    args, expr = registry.build(name).closed_forms()[label]
    return args, expr


def _at(args, expr, *values):
    return sp.sympify(expr).xreplace(dict(zip(args, values)))


@pytest.mark.parametrize("name", ["parameter-count", "attention-cost"])
def test_every_step_checks_and_fast(name):
    report = check(registry.build(name))
    assert report.ok
    assert report.seconds < 2.0
    numeric = [r for r in report.results if r.status == NUMERIC]
    assert all(r.status in (PROVED, ASSUMED, NUMERIC) for r in report.results)
    # only the ceiling inequality ⌈M/G⌉ ≥ M/G is left to numbers; every sum is proved
    assert len(numeric) == (1 if name == "parameter-count" else 0)
    assert all(r.status == PROVED for r in report.results if r.section in ("result", "example"))


def test_closed_form_contract_names():
    forms = registry.build("parameter-count").closed_forms()
    assert [str(a) for a in forms["gpt2"][0]] == ["n_layers", "d_model", "vocab", "n_ctx"]
    assert [str(a) for a in forms["llama"][0]] == ["n_layers", "d_model", "n_heads", "n_kv_heads", "d_ff", "vocab"]
    for args, expr in forms.values():
        assert sp.sympify(expr).free_symbols <= set(args)
    cost = registry.build("attention-cost").closed_forms()
    assert [str(a) for a in cost["flops"][0]] == ["n", "d_model"]
    assert [str(a) for a in cost["score_memory"][0]] == ["n", "n_heads"]


@pytest.mark.parametrize("config,known", [
    ((12, 768, 50257, 1024), 124_439_808),
    ((24, 1024, 50257, 1024), 354_823_168),
    ((36, 1280, 50257, 1024), 774_030_080),
    ((48, 1600, 50257, 1024), 1_557_611_200),
])
def test_gpt2_counts_match_the_released_checkpoints(config, known):
    assert _at(*_form("parameter-count", "gpt2"), *config) == known


def test_llama3_8b_count_matches_the_released_checkpoint():
    assert _at(*_form("parameter-count", "llama"), 32, 4096, 32, 8, 14336, 128256) == 8_030_261_248


def test_closed_forms_equal_tensor_shape_lists_at_random_configs():
    rng = random.Random(3)
    gpt2, llama = _form("parameter-count", "gpt2"), _form("parameter-count", "llama")
    for _ in range(20):
        L, V, n_ctx = rng.randint(1, 50), rng.randint(1, 10**5), rng.randint(1, 10**4)
        h_kv = rng.randint(1, 8)
        h = h_kv * rng.randint(1, 8)
        d, d_ff = h * rng.randint(1, 128), rng.randint(1, 10**5)
        assert _at(*gpt2, L, d, V, n_ctx) == _count(_shapes_gpt2(L, d, V, n_ctx))
        assert _at(*llama, L, d, h, h_kv, d_ff, V) == _count(_shapes_llama(L, d, h, h_kv, d_ff, V))


def test_worked_example_gives_the_gpt2_small_count():
    example = registry.build("parameter-count").example
    assert any(step.rhs == 124_439_808 for step in example)
    assert any(step.rhs == 16 * 124_439_808 for step in example)  # 2 + 2 + 4 + 4 + 4 bytes per parameter


def test_gpus_needed_rounds_up():
    from explainer.derivations.model_size import gpus_needed

    for count in (1, 80 * 10**9 - 1, 80 * 10**9, 80 * 10**9 + 1, 2_793_668_149_248):
        assert gpus_needed(count) == -(-count // (80 * 10**9))


def test_attention_flops_equal_a_list_of_matmuls():
    args, expr = _form("attention-cost", "flops")
    rng = random.Random(5)
    for _ in range(20):
        h = rng.randint(1, 16)
        n, d = rng.randint(1, 4096), h * rng.randint(1, 128)
        d_k = d // h
        matmuls = [(n, d, d)] * 4 + [(n, d_k, n)] * h + [(n, n, d_k)] * h  # (m × k)(k × p) as (m, k, p)
        assert _at(args, expr, n, d) == sum(2 * m * k * p for m, k, p in matmuls)


def test_doubling_n_quadruples_the_quadratic_parts_and_score_memory():
    (n_args, flops), (m_args, memory) = (_form("attention-cost", "flops"), _form("attention-cost", "score_memory"))
    for n, d, h in ((1024, 768, 12), (7, 64, 4)):
        assert _at(m_args, memory, 2 * n, h) == 4 * _at(m_args, memory, n, h)
        ratio = _at(n_args, flops, 2 * n, d) / _at(n_args, flops, n, d)
        assert 2 < ratio < 4
        assert ratio == sp.Rational(4 * (n + d), n + 2 * d)


# --- PyTorch's own modules as the oracle ---------------------------------------------------------

def test_gpt2_form_equals_numel_of_torch_modules():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    L, d, h, V, n_ctx = 2, 64, 4, 100, 16
    torch.manual_seed(0)
    model = nn.ModuleDict({
        "wte": nn.Embedding(V, d), "wpe": nn.Embedding(n_ctx, d),
        "blocks": nn.ModuleList(nn.TransformerEncoderLayer(d, h, 4 * d, dropout=0.0, activation="gelu",
                                                           norm_first=True, batch_first=True) for _ in range(L)),
        "ln_f": nn.LayerNorm(d), "head": nn.Linear(d, V, bias=False),
    })
    model["head"].weight = model["wte"].weight  # tied: parameters() yields it once
    counted = sum(p.numel() for p in model.parameters())
    assert _at(*_form("parameter-count", "gpt2"), L, d, V, n_ctx) == counted


def test_llama_form_equals_numel_of_torch_modules():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    L, d, h, h_kv, d_ff, V = 2, 64, 8, 2, 172, 100

    def block():
        kv = h_kv * (d // h)
        return nn.ModuleDict({"attn_norm": nn.RMSNorm(d), "q": nn.Linear(d, d, bias=False),
                              "k": nn.Linear(d, kv, bias=False), "v": nn.Linear(d, kv, bias=False),
                              "o": nn.Linear(d, d, bias=False), "mlp_norm": nn.RMSNorm(d),
                              "gate": nn.Linear(d, d_ff, bias=False), "up": nn.Linear(d, d_ff, bias=False),
                              "down": nn.Linear(d_ff, d, bias=False)})

    model = nn.ModuleDict({"embed": nn.Embedding(V, d), "blocks": nn.ModuleList(block() for _ in range(L)),
                           "norm": nn.RMSNorm(d), "head": nn.Linear(d, V, bias=False)})
    counted = sum(p.numel() for p in model.parameters())
    assert _at(*_form("parameter-count", "llama"), L, d, h, h_kv, d_ff, V) == counted


@pytest.mark.parametrize("need_weights", [False, True])
def test_attention_flops_and_score_memory_against_torch(need_weights):
    torch = pytest.importorskip("torch")
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    d, h = 32, 4
    torch.manual_seed(0)
    mha = torch.nn.MultiheadAttention(d, h, dropout=0.0, batch_first=True).train()
    flops_form, memory_form = _form("attention-cost", "flops"), _form("attention-cost", "score_memory")
    counts = {}
    for n in (8, 16):
        x = torch.randn(1, n, d)
        counter = FlopCounterMode(display=False)
        # need_weights=False goes through F.scaled_dot_product_attention; FlopCounterMode counts 0 for
        # the fused CPU kernel (torch 2.13), so force the math backend, which runs as counted bmm's.
        with sdpa_kernel(SDPBackend.MATH), counter:
            _, weights = mha(x, x, x, need_weights=need_weights, average_attn_weights=False)
        counts[n] = counter.get_total_flops()
        assert _at(*flops_form, n, d) == counts[n]
        if need_weights:
            assert _at(*memory_form, n, h) == weights.numel()  # (1, h, n, n)
    assert sp.Rational(counts[16], counts[8]) == sp.Rational(4 * (8 + d), 8 + 2 * d)


def test_the_shown_names_are_a_renaming_of_the_module_formulas():
    """The derivation prints L, d, V, h, h_kv; renamed back, its by-component step is the module's
    GPT2_PARTS (what `explainer size` adds up) and its result the gpt2 closed form."""
    from explainer.derivations import model_size as ms

    back = {v: k for k, v in ms.SHOWN.items()}
    d = registry.build("parameter-count")
    by_component = next(s for s in d.steps if s.why.startswith("by component"))
    assert sp.expand(by_component.rhs.xreplace(back) - sum(ms.GPT2_PARTS.values())) == 0
    assert sp.expand(d.result.rhs.xreplace(back) - ms.GPT2_TOTAL) == 0
    assert {str(s) for s in d.result.rhs.free_symbols} == {"L", "d", "V", "n_ctx"}


def test_a_wrong_component_fails_the_by_component_step():
    from dataclasses import replace

    d = registry.build("parameter-count")
    n = next(i for i, s in enumerate(d.steps) if s.why.startswith("by component"))
    L = next(s for s in d.steps[n].rhs.free_symbols if str(s) == "L")
    dim = next(s for s in d.steps[n].rhs.free_symbols if str(s) == "d")
    broken = replace(d.steps[n], rhs=d.steps[n].rhs - 2 * L * dim)  # one LayerNorm per block instead of two
    report = check(replace(d, steps=d.steps[:n] + (broken,) + d.steps[n + 1:]))
    assert [r.label for r in report.failures] == [f"step {n + 1}"]
