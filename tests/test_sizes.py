"""`explainer.sizes`: preset counts against the known sizes of the released models, breakdowns,
memory tables and the sizes no model can have."""
from __future__ import annotations

import math

import pytest

from explainer import sizes
from explainer.errors import UsageError

#: Counts of the released checkpoints (sum of tensor sizes), independent of our formulas.
KNOWN = {"gpt2-small": 124_439_808, "gpt2-medium": 354_823_168, "gpt2-large": 774_030_080,
         "gpt2-xl": 1_557_611_200, "llama3-8b": 8_030_261_248,
         # transformers' BertModel (with pooler) / DistilBertModel of bert-base-uncased, bert-large-uncased,
         # distilbert-base-uncased
         "bert-base": 109_482_240, "bert-large": 335_141_888, "distilbert-base": 66_362_880}
#: Sizes known to a few digits: (value, tolerance).
APPROX = {"llama3-70b": (70.55e9, 0.01e9), "llama3-405b": (405.8e9, 0.1e9), "gpt3-175b": (174.6e9, 0.05e9)}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_exact_known_counts(name):
    assert sizes.parameters(sizes.preset(name).config) == KNOWN[name]


@pytest.mark.parametrize("name", sorted(APPROX))
def test_approximate_known_counts(name):
    value, tolerance = APPROX[name]
    assert abs(sizes.parameters(sizes.preset(name).config) - value) < tolerance


def test_every_preset_is_checked_here():
    assert set(sizes.PRESETS) == set(KNOWN) | set(APPROX)


def test_gpt2_small_breakdown_by_hand():
    d, V, n_ctx, L = 768, 50257, 1024, 12
    parts = sizes.breakdown(sizes.preset("gpt2-small").config)
    assert parts == {"embeddings": V * d, "positions": n_ctx * d,
                     "attention": L * (d * 3 * d + 3 * d + d * d + d),
                     "mlp": L * (d * 4 * d + 4 * d + 4 * d * d + d),
                     "norms": (2 * L + 1) * 2 * d, "head": 0}


def test_llama3_8b_breakdown_by_hand():
    d, V, L, kv, d_ff = 4096, 128256, 32, 8 * 128, 14336
    parts = sizes.breakdown(sizes.preset("llama3-8b").config)
    assert parts == {"embeddings": V * d, "positions": 0, "attention": L * (2 * d * d + 2 * d * kv),
                     "mlp": L * 3 * d * d_ff, "norms": (2 * L + 1) * d, "head": V * d}


def test_gpt2_d_ff_defaults_to_four_times_width_and_can_be_changed():
    base = sizes.Config("gpt2", 2, 64, 4, 100, 32)
    wide = sizes.Config("gpt2", 2, 64, 4, 100, 32, d_ff=512)
    assert base.d_ff == 256 and base.n_kv_heads == 4
    assert sizes.parameters(wide) - sizes.parameters(base) == 2 * (2 * 64 * 256 + 256)


def test_memory_table_for_gpt3():
    count = sizes.parameters(sizes.preset("gpt3-175b").config)
    rows = {r["what"]: r for r in sizes.memory_table(count)}
    adam = rows["mixed precision + Adam"]
    assert adam["bytes_per_parameter"] == 2 + 2 + 4 + 4 + 4
    assert adam["bytes"] == 16 * count
    assert adam["gpus"] == math.ceil(16 * count / 80e9) == 35
    assert rows["fp32 weights"]["bytes"] == 4 * count and rows["fp16/bf16 weights"]["bytes"] == 2 * count
    assert adam["GiB"] == pytest.approx(16 * count / 1024**3)


def test_report_is_consistent_and_json_ready():
    import json

    r = sizes.report(sizes.preset("gpt2-small").config, "gpt2-small")
    assert isinstance(r["parameters"], int) and r["parameters"] == sum(r["breakdown"].values())
    assert r["without_position_embeddings"] == 124_439_808 - 1024 * 768
    assert r["published"] == "117M"
    assert json.loads(json.dumps(r)) == r


def test_derivation_example_uses_the_gpt2_small_preset():
    from explainer.derivations.model_size import GPT2_SMALL

    c = sizes.preset("gpt2-small").config
    assert {str(k): v for k, v in GPT2_SMALL.items()} == {
        "n_layers": c.n_layers, "d_model": c.d_model, "vocab": c.vocab, "n_ctx": c.n_ctx, "n_heads": c.n_heads}


@pytest.mark.parametrize("kwargs,message", [
    (dict(arch="gpt2", n_layers=2, d_model=64, n_heads=5, vocab=10, n_ctx=8), "does not divide --d-model"),
    (dict(arch="llama", n_layers=2, d_model=64, n_heads=4, vocab=10, n_ctx=8, n_kv_heads=3, d_ff=8),
     "does not divide --heads"),
    (dict(arch="gpt2", n_layers=0, d_model=64, n_heads=4, vocab=10, n_ctx=8), "--layers must be a positive"),
    (dict(arch="gpt2", n_layers=2, d_model=-64, n_heads=4, vocab=10, n_ctx=8), "--d-model must be a positive"),
    (dict(arch="llama", n_layers=2, d_model=64, n_heads=4, vocab=10, n_ctx=8), "needs --d-ff"),
    (dict(arch="gpt2", n_layers=2, d_model=64, n_heads=4, vocab=10, n_ctx=8, n_kv_heads=2), "--kv-heads is for"),
    (dict(arch="t5", n_layers=2, d_model=64, n_heads=4, vocab=10, n_ctx=8), "unknown architecture"),
])
def test_impossible_sizes_are_usage_errors(kwargs, message):
    with pytest.raises(UsageError, match=message):
        sizes.Config(**kwargs)


def test_unknown_preset_suggests_the_nearest():
    with pytest.raises(UsageError, match="did you mean: llama3-8b"):
        sizes.preset("llama-8b")
