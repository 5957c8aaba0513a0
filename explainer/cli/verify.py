"""``explainer verify``: each derivation's closed form against a real PyTorch transformer run."""
from __future__ import annotations

import click

from explainer.cli.catalog import load_modules, module_option
from explainer.errors import MissingTool, UsageError

TORCH_INSTALL = "pip install 'transformer-math-explainer[torch]'  (or: pip install torch)"


@click.command("verify")
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Verify every registered derivation.")
@click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda"]),
              help="auto uses CUDA when a GPU is present, else the CPU (the table says which ran).")
@click.option("--dtype", default="float64", show_default=True,
              type=click.Choice(["float64", "float32", "float16", "bfloat16"]), help="dtype of the reference run.")
@click.option("--size", default="tiny", show_default=True, type=click.Choice(["tiny", "small", "large"]),
              help="Model preset (tiny for CI, large for a GPU).")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**32 - 1),
              help="Seed of parameters, batch and samples (0 … 2^32 − 1).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (the same rows).")
@click.option("--world-size", type=int, default=None, metavar="P",
              help="Sharded derivations (tensor-parallel-attention, tensor-parallel-mlp, ring-attention): run "
                   "across P processes (gloo on CPU, NCCL on GPUs; default 2).")
@module_option
def verify_command(names: tuple[str, ...], all_: bool, device: str, dtype: str, size: str, seed: int,
                   as_json: bool, world_size: int | None, modules) -> None:
    """Evaluate each derivation's closed form in float64 on the tensors of a real transformer run and
    compare with what PyTorch's own code computed there (nn.MultiheadAttention, every backend of
    F.scaled_dot_product_attention, nn.LayerNorm, F.gelu, F.cross_entropy, autograd). Exit 1 if a
    check failed.

    \b
    Examples:
      explainer verify scaled-dot-product-attention attention-masks
      explainer verify --all --device cuda --size large --dtype float32
      explainer verify softmax --json
      explainer verify my-derivation --module my_derivations.py
      explainer verify tensor-parallel-attention --world-size 4
    """
    if not names and not all_:
        raise UsageError("name at least one derivation, or use --all (see 'explainer list')")
    try:
        import torch  # noqa: F401
    except ImportError:
        raise MissingTool("PyTorch", "'explainer verify'", TORCH_INSTALL) from None

    from explainer.distributed import DERIVATIONS

    if world_size is not None or set(names) & set(DERIVATIONS):
        from explainer.distributed.cli import verify_sharded

        return verify_sharded(names, all_, world_size, device, dtype, seed, as_json)
    import time

    from explainer.numeric import verify as engine

    load_modules(modules)  # after torch: a module may register numeric checks of its own
    chosen = engine.choose(names, all_)
    from explainer.numeric.checks.llama import require_transformers

    require_transformers(chosen)  # the Llama oracles: exit 2 with the install hint, before any work
    from explainer.numeric.checks.base import Context
    from explainer.numeric.config import preset
    from explainer.numeric.run import device_name, resolve_device, resolve_dtype

    target = resolve_device(device)
    ctx = Context(preset(size), target, resolve_dtype(dtype, target), seed)
    start = time.perf_counter()
    results = engine.verify(chosen, ctx)
    seconds = time.perf_counter() - start
    meta = {"device": device_name(target), "requested_device": device, "dtype": dtype, "size": size,
            "seed": seed, "torch": torch.__version__, "seconds": round(seconds, 3)}
    if as_json:
        click.echo(engine.as_json(results, meta), nl=False)
    else:
        header = (f"device: {meta['device']} ({'chosen by --device auto' if device == 'auto' else 'as asked'}), "
                  f"dtype {dtype}, size {size}, seed {seed}, torch {torch.__version__}")
        click.echo(engine.table(results, header), nl=False)
        click.echo(f"{len(chosen)} derivation{'' if len(chosen) == 1 else 's'} in {seconds:.1f} s")
    if not engine.ok(results):
        raise click.exceptions.Exit(1)
