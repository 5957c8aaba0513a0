"""Parameter breakdowns and training-memory tables for concrete model configurations.

Every number here is a formula of the ``parameter-count`` derivation (``derivations/model_size.py``)
(BERT and DistilBERT: the ``distillation`` derivation's, ``derivations/distillation.py``)
evaluated exactly with SymPy at the configuration's sizes: the derivation proves the formulas, this
module only plugs numbers in. No torch.

Conventions (the same as the derivation's): every distinct weight tensor is counted once, including
token and learned position embeddings, biases and norms; a head tied to the token embeddings adds
nothing. Memory is what it takes to hold the numbers (no activations); GB = 10⁹ bytes, GiB = 2³⁰
bytes, an "80 GB" GPU holds 80·10⁹ bytes.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import sympy as sp

from explainer.derivations import distillation as ds
from explainer.derivations import model_size as ms
from explainer.errors import UsageError, positive_int
from explainer.registry import unknown_message

ARCHS = ("gpt2", "llama", "bert", "distilbert")
_PARTS = {"gpt2": ms.GPT2_PARTS, "llama": ms.LLAMA_PARTS, "bert": ds.BERT_PARTS, "distilbert": ds.DISTILBERT_PARTS}

#: What each component is, per architecture (the formulas are the derivation's).
COMPONENTS = {
    "gpt2": {"embeddings": "token embeddings W_E (V × d)",
             "positions": "learned position embeddings (n_ctx × d)",
             "attention": "per block: fused QKV + output projection, with biases",
             "mlp": "per block: W_1, W_2 with biases (GELU)",
             "norms": "2 LayerNorms per block + the final one (γ, β)",
             "head": "tied to W_E: no new parameters"},
    "llama": {"embeddings": "token embeddings W_E (V × d)",
              "positions": "rotary positions: no parameters",
              "attention": "per block: W_Q, W_O and h_kv-head W_K, W_V, no biases",
              "mlp": "per block: SwiGLU gate, up, down (no biases)",
              "norms": "2 RMSNorms per block + the final one (gain only)",
              "head": "untied output matrix (d × V)"},
    "bert": {"embeddings": "word embeddings (V × d)",
             "positions": "learned position embeddings (n_ctx × d)",
             "token types": f"segment embeddings ({ds.TOKEN_TYPES} × d)",
             "attention": "per layer: W_Q, W_K, W_V, W_O with biases",
             "mlp": "per layer: intermediate + output dense, biases (GELU)",
             "norms": "2 LayerNorms per layer + the embeddings' one (γ, β)",
             "pooler": "dense d × d with bias, on the [CLS] token"},
    "distilbert": {"embeddings": "word embeddings (V × d)",
                   "positions": "learned position embeddings (n_ctx × d)",
                   "token types": "dropped: no segment embeddings",
                   "attention": "per layer: W_Q, W_K, W_V, W_O with biases",
                   "mlp": "per layer: two dense layers, with biases (GELU)",
                   "norms": "2 LayerNorms per layer + the embeddings' one (γ, β)",
                   "pooler": "dropped: no pooler"},
}


#: Config field -> the command-line option that sets it (for messages).
OPTIONS = {"n_layers": "--layers", "d_model": "--d-model", "n_heads": "--heads", "vocab": "--vocab",
           "n_ctx": "--context", "n_kv_heads": "--kv-heads", "d_ff": "--d-ff"}


@dataclass(frozen=True)
class Config:
    """A decoder's sizes; ``n_kv_heads`` defaults to ``n_heads``, GPT-2's ``d_ff`` to ``4·d_model``."""

    arch: str
    n_layers: int
    d_model: int
    n_heads: int
    vocab: int
    n_ctx: int
    n_kv_heads: int | None = None
    d_ff: int | None = None

    def __post_init__(self) -> None:
        validate(self)
        if self.n_kv_heads is None:
            object.__setattr__(self, "n_kv_heads", self.n_heads)
        if self.d_ff is None:
            object.__setattr__(self, "d_ff", 4 * self.d_model)

    def values(self) -> dict:
        """The configuration as a substitution for the derivation's size symbols."""
        return {ms.L: self.n_layers, ms.d: self.d_model, ms.h: self.n_heads, ms.h_kv: self.n_kv_heads,
                ms.V: self.vocab, ms.n_ctx: self.n_ctx, ms.d_ff: self.d_ff,
                ds.L: self.n_layers, ds.d: self.d_model, ds.V: self.vocab, ds.P: self.n_ctx, ds.d_ff: self.d_ff}


def validate(c: Config) -> None:
    """Raise :class:`UsageError` for sizes no such model can have."""
    if c.arch not in ARCHS:
        raise UsageError(unknown_message("architecture", c.arch, list(ARCHS), "explainer size --help"))
    for field, option in OPTIONS.items():
        value = getattr(c, field)
        if value is not None:
            positive_int(value, option)
    if c.d_model % c.n_heads:
        raise UsageError(f"--heads {c.n_heads} does not divide --d-model {c.d_model}: "
                         "every head must get the same width d_model/heads")
    if c.arch != "llama" and c.n_kv_heads not in (None, c.n_heads):
        raise UsageError(f"--kv-heads is for --arch llama: {c.arch} attention has as many key/value heads as heads")
    if c.n_kv_heads is not None and c.n_heads % c.n_kv_heads:
        raise UsageError(f"--kv-heads {c.n_kv_heads} does not divide --heads {c.n_heads}: "
                         "each key/value head serves the same number of query heads")
    if c.arch == "llama" and c.d_ff is None:
        raise UsageError("--arch llama needs --d-ff (SwiGLU's hidden width, e.g. 14336 for Llama 3 8B)")


@dataclass(frozen=True)
class Preset:
    """A published configuration and the size it was published as."""

    config: Config
    published: str
    source: str


PRESETS = {
    "gpt2-small": Preset(Config("gpt2", 12, 768, 12, 50257, 1024), "117M", "GPT-2 paper; openai/gpt-2 hparams"),
    "gpt2-medium": Preset(Config("gpt2", 24, 1024, 16, 50257, 1024), "345M", "GPT-2 paper; openai/gpt-2 hparams"),
    "gpt2-large": Preset(Config("gpt2", 36, 1280, 20, 50257, 1024), "762M", "GPT-2 paper; openai/gpt-2 hparams"),
    "gpt2-xl": Preset(Config("gpt2", 48, 1600, 25, 50257, 1024), "1542M", "GPT-2 paper; openai/gpt-2 hparams"),
    "gpt3-175b": Preset(Config("gpt2", 96, 12288, 96, 50257, 2048), "175B",
                        "GPT-3 paper, table 2.1 (GPT-2 architecture and vocabulary)"),
    "llama3-8b": Preset(Config("llama", 32, 4096, 32, 128256, 8192, n_kv_heads=8, d_ff=14336), "8B",
                        "Meta Llama 3 params.json"),
    "llama3-70b": Preset(Config("llama", 80, 8192, 64, 128256, 8192, n_kv_heads=8, d_ff=28672), "70B",
                         "Meta Llama 3 params.json"),
    "llama3-405b": Preset(Config("llama", 126, 16384, 128, 128256, 131072, n_kv_heads=8, d_ff=53248), "405B",
                          "Meta Llama 3.1 params.json (128K context)"),
    "bert-base": Preset(Config("bert", 12, 768, 12, 30522, 512), "110M",
                        "BERT paper (Devlin et al. 2019), section 3; google-research/bert bert_config.json"),
    "bert-large": Preset(Config("bert", 24, 1024, 16, 30522, 512), "340M",
                         "BERT paper (Devlin et al. 2019), section 3; google-research/bert bert_config.json"),
    "distilbert-base": Preset(Config("distilbert", 6, 768, 12, 30522, 512), "66M",
                              "DistilBERT paper (Sanh et al. 2019); distilbert-base-uncased config.json"),
}


def preset(name: str) -> Preset:
    """The preset called ``name``; an unknown name raises :class:`UsageError` with the nearest names."""
    if name not in PRESETS:
        raise UsageError(unknown_message("preset", name, list(PRESETS), "explainer size --help"))
    return PRESETS[name]


def breakdown(c: Config) -> dict[str, int]:
    """Parameters by component (embeddings, positions, attention, mlp, norms, head), from the derivation."""
    values = c.values()
    return {part: _exact_int(expr.xreplace(values)) for part, expr in _PARTS[c.arch].items()}


def parameters(c: Config) -> int:
    """The total: the derivation's by-component formula (proved equal to its closed form) at ``c``."""
    return _exact_int(sp.Add(*_PARTS[c.arch].values()).xreplace(c.values()))


def memory_table(count: int, gpu_bytes: int = ms.GPU_BYTES) -> list[dict]:
    """Bytes to hold ``count`` parameters each way (fp32, fp16/bf16, mixed precision + Adam) and GPUs needed."""
    rows = []
    for what, per in ms.BYTES_PER_PARAMETER.items():
        total = int(per) * count
        rows.append({"what": what, "bytes_per_parameter": int(per), "bytes": total, "GB": total / 10**9,
                     "GiB": total / 2**30, "gpus": _exact_int(ms.gpus_needed(total, gpu_bytes))})
    return rows


def report(c: Config, name: str | None = None) -> dict:
    """Everything ``explainer size`` prints, as plain JSON-ready values."""
    parts = breakdown(c)
    count = parameters(c)
    if sum(parts.values()) != count:  # the derivation proves this; a mismatch is a bug here
        raise AssertionError(f"breakdown {sum(parts.values())} != total {count}")
    found = PRESETS.get(name) if name else None
    return {
        "name": name,
        "config": asdict(c),
        "parameters": count,
        "breakdown": parts,
        "formulas": {part: sp.sstr(expr) for part, expr in _PARTS[c.arch].items()},
        "without_position_embeddings": count - parts["positions"],
        "without_embeddings": count - parts["positions"] - parts["embeddings"],
        "published": found.published if found else None,
        "source": found.source if found else None,
        "gpu_bytes": ms.GPU_BYTES,
        "adam_bytes": dict(ms.ADAM_BYTES),
        "memory": memory_table(count),
    }


def _exact_int(value) -> int:
    """A SymPy value that must be a whole number, as a Python int."""
    value = sp.sympify(value)
    if not value.is_Integer:
        raise AssertionError(f"expected a whole number of parameters, got {value}")
    return int(value)
