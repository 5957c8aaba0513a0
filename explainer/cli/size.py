"""``explainer size``: a model's parameters by component and the memory to hold and train it.

The numbers come from the ``parameter-count`` derivation's formulas (``explainer/sizes.py``); no torch.
``explainer/sizes.py`` (and SymPy) load only when the command runs, so ``explainer size --help`` is quick.
"""
from __future__ import annotations

import json

import click

from explainer.errors import UsageError

_SIZE_OPTIONS = ("n_layers", "d_model", "n_heads", "n_kv_heads", "d_ff", "vocab", "n_ctx")
#: The largest size accepted for any option: far beyond any model, small enough for every table cell.
MAX_SIZE = 10**12


@click.command("size")
@click.argument("preset", required=False, metavar="[PRESET]")
@click.option("--arch", metavar="ARCH", help="Architecture (gpt2, llama, …), when giving sizes instead of a PRESET.")
@click.option("--layers", "n_layers", type=int, help="Number of transformer blocks.")
@click.option("--d-model", "d_model", type=int, help="Model width d.")
@click.option("--heads", "n_heads", type=int, help="Attention (query) heads; must divide --d-model.")
@click.option("--kv-heads", "n_kv_heads", type=int, help="Key/value heads (llama; must divide --heads). "
                                                         "Default: --heads.")
@click.option("--d-ff", "d_ff", type=int, help="MLP hidden width. Default for gpt2: 4 × --d-model; llama needs it.")
@click.option("--vocab", type=int, help="Vocabulary size.")
@click.option("--context", "n_ctx", type=int, help="Context length (gpt2 learns one position vector per slot).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (integer 'parameters' field).")
def size_command(preset: str | None, arch: str | None, as_json: bool, **given: int | None) -> None:
    """Count a decoder's parameters by component and the memory to hold and train them.

    PRESET is one of: gpt2-small, gpt2-medium, gpt2-large, gpt2-xl, gpt3-175b, llama3-8b, llama3-70b,
    llama3-405b, bert-base, bert-large, distilbert-base (BERT counted as transformers' BertModel, with
    token types and pooler). Or describe a model with --arch and its sizes. Every distinct tensor is
    counted once (token and position embeddings included; a tied head adds nothing). Memory: GB = 10^9 bytes,
    GiB = 2^30 bytes; mixed-precision Adam training takes 16 bytes per parameter.

    \b
    Examples:
      explainer size gpt2-small
      explainer size llama3-8b --json
      explainer size --arch gpt2 --layers 2 --d-model 64 --heads 4 --vocab 100 --context 32
      explainer size --arch llama --layers 32 --d-model 4096 --heads 32 --kv-heads 8 \\
          --d-ff 14336 --vocab 128256 --context 8192
    """
    from explainer import sizes

    config = _config(sizes, preset, arch, given)
    result = sizes.report(config, preset)
    click.echo(json.dumps(result, indent=2) if as_json else _text(result))


def _config(sizes, preset: str | None, arch: str | None, given: dict):
    """The configuration from a preset name, or from --arch and the size options (not both)."""
    chosen = {k: v for k, v in given.items() if v is not None}
    for field, value in chosen.items():
        if value > MAX_SIZE:
            raise UsageError(f"{sizes.OPTIONS[field]} must be at most 10^12, got a {len(str(value))}-digit number")
    if preset is not None:
        if arch is not None or chosen:
            raise UsageError("give either a PRESET or --arch with sizes, not both")
        return sizes.preset(preset).config
    if arch is None:
        raise UsageError(f"name a PRESET ({', '.join(sizes.PRESETS)}) or describe a model with "
                         f"--arch {'|'.join(sizes.ARCHS)}")
    if arch not in sizes.ARCHS:
        raise UsageError(sizes.unknown_message("architecture", arch, list(sizes.ARCHS), "explainer size --help"))
    missing = [sizes.OPTIONS[k] for k in ("n_layers", "d_model", "n_heads", "vocab", "n_ctx") if k not in chosen]
    if missing:
        raise UsageError(f"--arch {arch} needs {', '.join(missing)}")
    return sizes.Config(arch, **{k: chosen.get(k) for k in _SIZE_OPTIONS})


def _text(r: dict) -> str:
    """The report as two tables: parameters by component, then memory (columns as wide as their numbers)."""
    from explainer import sizes

    c = r["config"]
    style = {"gpt2": "GPT-2-style decoder", "llama": "Llama-style decoder", "bert": "BERT-style encoder",
             "distilbert": "DistilBERT-style encoder"}[c["arch"]]
    kv = f" ({c['n_kv_heads']} key/value)" if c["n_kv_heads"] != c["n_heads"] else ""
    heads = _plural(c["n_heads"], "head") + kv
    title = f"{r['name']}: " if r["name"] else ""
    lines = [f"{title}{style}, {_plural(c['n_layers'], 'layer')}, d_model {c['d_model']}, {heads}, "
             f"d_ff {c['d_ff']}, vocab {c['vocab']}, context {c['n_ctx']}", ""]
    total = r["parameters"]
    width = max(len("parameters"), len(f"{total:,}"))
    lines.append(f"  {'component':<11} {'what is counted':<58} {'parameters':>{width}} {'share':>7}")
    for part, count in r["breakdown"].items():
        what = sizes.COMPONENTS[c["arch"]][part]
        lines.append(f"  {part:<11} {what:<58} {count:>{width},} {100 * count / total:>6.1f}%")
    lines.append(f"  {'total':<11} {'':<58} {total:>{width},} {'100.0%':>7}  ≈ {_short(total)}")
    if r["published"]:
        lines.append(f"  published as {r['published']} — {r['source']}")
    lines.append(f"  without position embeddings {r['without_position_embeddings']:,}; "
                 f"without any embeddings {r['without_embeddings']:,}")
    return "\n".join(lines + [""] + _memory_lines(r))


def _memory_lines(r: dict) -> list[str]:
    """The memory table: bytes exact, GB and GiB readable at any size, GPUs needed."""
    gpu = r["gpu_bytes"] // 10**9
    cells = [(row["what"], str(row["bytes_per_parameter"]), f"{row['bytes']:,}", _amount(row["GB"]),
              _amount(row["GiB"]), str(row["gpus"])) for row in r["memory"]]
    head = ("what", "B/param", "bytes", "GB", "GiB", f"{gpu} GB GPUs")
    widths = [max(len(row[k]) for row in [head, *cells]) for k in range(len(head))]
    lines = [f"Memory just to hold them (activations not counted; GB = 10^9 B, GiB = 2^30 B, "
             f"an {gpu} GB GPU = {gpu}·10^9 B)"]
    for row in [head, *cells]:
        lines.append("  " + f"{row[0]:<{widths[0]}}" + "".join(f"  {v:>{w}}" for v, w in zip(row[1:], widths[1:])))
    lines.append("  mixed precision + Adam, bytes: " + " + ".join(f"{what} {b}" for what, b in r["adam_bytes"].items()))
    return lines


def _plural(n: int, noun: str) -> str:
    """``1 layer``, ``2 layers``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _amount(x: float) -> str:
    """A GB or GiB figure: two decimals, significant digits below 0.01, powers of ten beyond 10^15."""
    if x >= 10**15:
        return f"{x:.3e}"
    if 0 < x < 0.01:
        return f"{x:.2g}"
    return f"{x:,.2f}"


def _short(count: int) -> str:
    """124439808 -> '124.4M', 8030261248 -> '8.03B', 82 -> '82', 4.2·10^13 -> '42.00T', beyond -> '1.20e+22'."""
    if count >= 10**15:
        return f"{count:.2e}"
    if count >= 10**12:
        return f"{count / 10**12:.2f}T"
    if count >= 10**9:
        return f"{count / 10**9:.2f}B"
    if count >= 10**6:
        return f"{count / 10**6:.1f}M"
    if count >= 10**3:
        return f"{count / 10**3:.1f}K"
    return str(count)
