"""The Llama checks against transformers and torch pass on the CPU, and a planted wrong formula fails them."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch

pytest.importorskip("transformers", reason="the Llama checks use transformers' modules as oracles")

from explainer.cli import cli  # noqa: E402
from explainer.numeric import compare  # noqa: E402
from explainer.numeric.checks import CHECKS, llama  # noqa: E402
from explainer.numeric.checks.base import Context  # noqa: E402
from explainer.numeric.config import PRESETS  # noqa: E402

NAMES = [llama.ROPE, llama.GQA, llama.KV, llama.RMS, llama.SWIGLU]
REAL = llama.closed_form


def _ctx(dtype=torch.float64) -> Context:
    return Context(PRESETS["tiny"], torch.device("cpu"), dtype, seed=0)


def _lambdified(args, expr):
    """Evaluated the way compare.closed_form evaluates a derivation's own form (same argument layout)."""
    fn = sp.lambdify(args, expr, "numpy")
    shapes = [tuple(int(s) for s in a.shape) if hasattr(a, "shape") else () for a in args]
    return lambda *xs: np.asarray(fn(*(compare._arg(x, s) for x, s in zip(xs, shapes))), dtype=float)


def _plant(monkeypatch, name: str, label: str, build):
    """Replace closed form ``label`` of ``name`` by ``build(**sizes) -> (args, expr)`` in the checks."""
    def planted(which, lab, /, **sizes):
        if (which, lab) == (name, label):
            return _lambdified(*build(**sizes))
        return REAL(which, lab, **sizes)

    monkeypatch.setattr(llama, "closed_form", planted)


def _failed(rows, text: str) -> bool:
    matching = [r for r in rows if text in r.check]
    assert matching, f"no row with {text!r}"
    return all(r.status == compare.FAILED for r in matching)


@pytest.mark.parametrize("name", NAMES)
def test_every_check_passes_in_float64(name):
    rows = [r for fn in CHECKS[name] for r in fn(_ctx())]
    assert rows and all(r.status == compare.PASSED for r in rows), [r for r in rows if r.status != compare.PASSED]
    assert all(r.device in ("cpu", "-") for r in rows)


@pytest.mark.parametrize("name", [llama.ROPE, llama.RMS, llama.SWIGLU])
def test_float32_runs_pass_with_float32_tolerances(name):
    rows = [r for fn in CHECKS[name] for r in fn(_ctx(torch.float32))]
    assert all(r.status == compare.PASSED for r in rows)
    assert {r.dtype for r in rows if r.dtype != "int64"} == {"float32"}


def test_each_check_names_its_oracle_and_version():
    rows = llama.check_rms_norm(_ctx()) + llama.check_rotary(_ctx())
    assert any("torch.nn.RMSNorm" in r.check for r in rows) and any("LlamaRMSNorm" in r.check for r in rows)
    assert any("LlamaRotaryEmbedding" in r.check and "transformers 5." in r.notes for r in rows)


def test_wrong_rope_base_is_rejected(monkeypatch):
    """θ_i = 500000^(−2i/d) (Llama 3's base) against a module built with rope_theta 10000."""
    def wrong_base(which, lab, /, **sizes):
        return REAL(which, lab, **{**sizes, "base": 500000}) if which == llama.ROPE else REAL(which, lab, **sizes)

    monkeypatch.setattr(llama, "closed_form", wrong_base)
    rows = llama.check_rotary(_ctx())
    assert _failed(rows, "half-split RoPE") and _failed(rows, "interleaved RoPE")


def test_swapped_rope_layouts_are_rejected(monkeypatch):
    """The interleaved rotation where Llama's rotate_half is meant, and the other way round."""
    def swapped(which, lab, /, **sizes):
        other = {"half_split": "interleaved", "interleaved": "half_split"}
        return REAL(which, other.get(lab, lab), **sizes) if which == llama.ROPE else REAL(which, lab, **sizes)

    monkeypatch.setattr(llama, "closed_form", swapped)
    rows = llama.check_rotary(_ctx())
    assert _failed(rows, "half-split RoPE") and _failed(rows, "interleaved RoPE")


def _tiled_gqa(h, g, d_head, n=None, d=None):
    """Query head j reads K/V head j mod g (torch.repeat / tile order) instead of ⌊j/r⌋."""
    from explainer.derivations.gqa import grouped_attention

    Q = sp.MatrixSymbol("Q", n, h * d_head)
    K, V = sp.MatrixSymbol("K", n, g * d_head), sp.MatrixSymbol("V", n, g * d_head)
    blocks = lambda M: [M.as_explicit()[:, a * d_head:(a + 1) * d_head] for a in range(g)]  # noqa: E731
    tile = lambda M: sp.ImmutableMatrix(sp.BlockMatrix([[blocks(M)[j % g] for j in range(h)]]).as_explicit())  # noqa: E731
    return (Q, K, V), grouped_attention(Q.as_explicit(), tile(K), tile(V), d_head)


def test_wrong_repeat_order_is_rejected(monkeypatch):
    _plant(monkeypatch, llama.GQA, "output", _tiled_gqa)
    rows = llama.check_grouped_query_attention(_ctx())
    assert _failed(rows, "vs LlamaAttention (eager") and _failed(rows, "enable_gqa=True")


def test_mha_parameter_count_is_rejected(monkeypatch):
    """W_K, W_V counted with h heads (plain multi-head) instead of g."""
    def mha_sizes(h, g, d_head, n=None, d=None):
        return (), sp.ImmutableMatrix([[d * h * d_head] * 4])

    _plant(monkeypatch, llama.GQA, "parameters", mha_sizes)
    rows = llama.check_grouped_query_attention(_ctx())
    assert _failed(rows, "tiny config") and _failed(rows, "Llama 3 8B")


def test_cache_without_values_is_rejected(monkeypatch):
    """L·g·d_head·T·b (keys only) instead of 2·L·g·d_head·T·b."""
    T, b = sp.symbols("T b")
    _plant(monkeypatch, llama.KV, "cache_bytes",
           lambda layers, kv_heads, heads, head_dim, weights: ((T, b), layers * kv_heads * head_dim * T * b))
    assert _failed(llama.check_kv_cache(_ctx()), "cache bytes")


def test_flops_without_the_attention_term_are_rejected(monkeypatch):
    t = sp.Symbol("t")
    _plant(monkeypatch, llama.KV, "flops_cached",
           lambda layers, kv_heads, heads, head_dim, weights: ((t,), 2 * weights + 0 * t))
    assert _failed(llama.check_kv_cache(_ctx()), "FlopCounterMode")


def _rms_variant(centre: bool = False, eps_outside: bool = False):
    def build(d):
        x, g = sp.MatrixSymbol("x", 1, d), sp.MatrixSymbol("g", 1, d)
        eps = sp.Symbol("eps")
        xs = list(x.as_explicit())
        mu = sum(xs) / d if centre else 0
        ms = sum((v - mu) ** 2 for v in xs) / d
        scale = 1 / (sp.sqrt(ms) + eps) if eps_outside else 1 / sp.sqrt(ms + eps)
        return (x, g, eps), sp.ImmutableMatrix([[(v - mu) * w * scale for v, w in zip(xs, g.as_explicit())]])
    return build


def test_layer_norm_in_place_of_rms_norm_is_rejected(monkeypatch):
    _plant(monkeypatch, llama.RMS, "rms_norm", _rms_variant(centre=True))
    rows = llama.check_rms_norm(_ctx())
    assert _failed(rows, "torch.nn.RMSNorm") and _failed(rows, "LlamaRMSNorm")


def test_epsilon_outside_the_root_is_rejected_by_torch_rms_norm(monkeypatch):
    """A relative change of about ε/r ≈ 1e-6: float64's tolerance sees it (LlamaRMSNorm's float32 one may not)."""
    _plant(monkeypatch, llama.RMS, "rms_norm", _rms_variant(eps_outside=True))
    assert _failed(llama.check_rms_norm(_ctx()), "torch.nn.RMSNorm")


def test_swapped_gate_and_up_projections_are_rejected(monkeypatch):
    """SiLU applied to W₃x instead of W₁x."""
    from explainer.derivations.swiglu import swiglu_column

    def swapped(d, d_ff):
        x = sp.MatrixSymbol("x", d, 1)
        W1, W3 = sp.MatrixSymbol("W_1", d_ff, d), sp.MatrixSymbol("W_3", d_ff, d)
        W2 = sp.MatrixSymbol("W_2", d, d_ff)
        return (x, W1, W2, W3), swiglu_column(x.as_explicit(), W3.as_explicit(), W2.as_explicit(), W1.as_explicit())

    _plant(monkeypatch, llama.SWIGLU, "ffn", swapped)
    assert _failed(llama.check_swiglu(_ctx()), "W₃x) vs LlamaMLP")


def test_sigmoid_in_place_of_the_silu_slope_is_rejected(monkeypatch):
    z = sp.Symbol("z")
    _plant(monkeypatch, llama.SWIGLU, "silu_grad", lambda d, d_ff: ((z,), 1 / (1 + sp.exp(-z))))
    assert _failed(llama.check_swiglu(_ctx()), "autograd of F.silu")


def test_rounding_down_is_rejected(monkeypatch):
    """Llama's width rounded down to the multiple (10752) instead of up (11008)."""
    from explainer.derivations import swiglu

    monkeypatch.setattr(swiglu, "llama_hidden",
                        lambda dim, multiple_of, multiplier=None: multiple_of * (int(8 * dim / 3) // multiple_of))
    rows = llama.check_swiglu(_ctx())
    assert _failed(rows, "LlamaConfig()'s default")


def test_verify_without_transformers_exits_2_with_the_install_hint(runner, monkeypatch):
    for module in ("transformers", "transformers.models.llama", "transformers.models.llama.modeling_llama"):
        monkeypatch.setitem(__import__("sys").modules, module, None)
    result = runner.invoke(cli, ["verify", "rms-norm", "--device", "cpu"])
    assert result.exit_code == 2, result.output
    assert "transformers is not available" in result.output and "[hf]" in result.output
    assert "Traceback" not in result.output
