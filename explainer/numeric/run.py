"""One reference run: forward and backward of the small transformer on a padded, causal batch.

    loss = F.cross_entropy(logits[valid], targets[valid])     mean over the N valid (non-padding) targets

Reproducible: the parameters and the batch come from ``torch.manual_seed(seed)`` and a seeded generator,
and dropout is off, so the same seed gives the same run on the CPU (tested). On CUDA,
``torch.use_deterministic_algorithms`` is not switched on, so a run is only as reproducible as PyTorch's
default CUDA kernels (some accumulate with atomic adds; see PyTorch's reproducibility notes): the last
bits may differ between runs. The checks compare within tolerances, never two runs bit for bit.

``python -m explainer.numeric.run --device auto --dtype float32 --size tiny`` prints a summary.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from explainer.errors import MissingTool, UsageError
from explainer.numeric.capture import Capture
from explainer.numeric.config import Config
from explainer.numeric.model import TinyGPT

DTYPES = {"float64": torch.float64, "float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
IGNORE = -100  # F.cross_entropy's ignore_index: padded positions and the last token have no target


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when present, else CPU; ``cuda`` without a GPU is a clear error (exit 2)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            build = (f"this torch {torch.__version__} is a CPU-only build" if torch.version.cuda is None
                     else f"this torch is built for CUDA {torch.version.cuda} but finds no GPU")
            raise MissingTool("a CUDA GPU", "--device cuda",
                              f"a machine with an NVIDIA GPU and a CUDA build of torch ({build}); "
                              "or use --device cpu or auto")
        return torch.device("cuda")
    if name == "cpu":
        return torch.device("cpu")
    raise UsageError(f"unknown device {name!r}; use auto, cpu or cuda")


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """The torch dtype called ``name``, after checking the device can multiply matrices in it."""
    if name not in DTYPES:
        raise UsageError(f"unknown dtype {name!r}; use one of {', '.join(DTYPES)}")
    dtype = DTYPES[name]
    try:
        a = torch.ones(2, 2, dtype=dtype, device=device)
        (a @ a).sum().item()
    except RuntimeError as exc:
        raise UsageError(f"{device_name(device)} cannot run dtype {name}: {exc}") from None
    return dtype


def device_name(device: torch.device) -> str:
    """What the run really used, e.g. ``cpu`` or ``cuda:0 (NVIDIA H100 80GB HBM3)``."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return device.type


@dataclass
class Batch:
    """Token ids, targets and padding of one batch; ``pad`` is True at padding positions."""

    ids: torch.Tensor        # (B, T) int64, 0 at padding
    targets: torch.Tensor    # (B, T) int64, IGNORE where there is no next token
    pad: torch.Tensor        # (B, T) bool
    lengths: list[int]


def make_batch(cfg: Config, seed: int, device: torch.device) -> Batch:
    """Random tokens 1..V−1; item b has length T − 3b (at least T/2), right-padded with id 0."""
    gen = torch.Generator().manual_seed(seed + 1)
    B, T = cfg.batch, cfg.seq_len
    lengths = [max(T - 3 * b, (T + 1) // 2) for b in range(B)]
    ids = torch.randint(1, cfg.vocab, (B, T), generator=gen)                     # (B, T)
    pad = torch.arange(T)[None, :] >= torch.tensor(lengths)[:, None]              # (B, T)
    ids[pad] = 0
    targets = torch.full((B, T), IGNORE, dtype=torch.long)
    targets[:, :-1] = ids[:, 1:]
    targets[:, :-1][pad[:, 1:]] = IGNORE
    return Batch(ids.to(device), targets.to(device), pad.to(device), lengths)


@dataclass
class Run:
    """A finished reference run: the model, its batch, every captured tensor, and how long it took."""

    cfg: Config
    model: TinyGPT
    batch: Batch
    tensors: dict[str, torch.Tensor]
    loss: torch.Tensor
    device: torch.device
    dtype: torch.dtype
    seed: int
    seconds: float

    @property
    def device_label(self) -> str:
        return device_name(self.device)

    @property
    def dtype_label(self) -> str:
        return str(self.dtype).removeprefix("torch.")


def build_model(cfg: Config, seed: int, device: torch.device, dtype: torch.dtype) -> TinyGPT:
    """The model with parameters drawn from ``seed``, in train mode (no dropout: the path is deterministic)."""
    torch.manual_seed(seed)
    return TinyGPT(cfg).to(device=device, dtype=dtype).train()


def reference_run(cfg: Config, *, device: torch.device, dtype: torch.dtype, seed: int = 0,
                  capture: bool = True) -> Run:
    """Forward + backward once; with ``capture`` every intermediate is recorded (see capture.py)."""
    start = time.perf_counter()
    model = build_model(cfg, seed, device, dtype)
    batch = make_batch(cfg, seed, device)
    cap = Capture(model)
    if capture:
        cap.__enter__()
    try:
        logits = model(batch.ids, batch.pad)                                      # (B, T, V)
    finally:
        cap.__exit__()
    logits.retain_grad()
    loss = F.cross_entropy(logits.reshape(-1, cfg.vocab), batch.targets.reshape(-1), ignore_index=IGNORE)
    loss.backward()
    tensors = dict(cap.tensors)
    tensors["logits.grad"] = logits.grad.detach().clone()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return Run(cfg, model, batch, tensors, loss.detach(), device, dtype, seed, time.perf_counter() - start)


def main() -> None:  # pragma: no cover - a thin command line over reference_run
    import argparse

    from explainer.numeric.config import preset

    parser = argparse.ArgumentParser(description="One forward+backward pass of the reference transformer.")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--dtype", default="float64", choices=tuple(DTYPES))
    parser.add_argument("--size", default="tiny")
    parser.add_argument("--attention", default="mha", choices=("mha", "sdpa"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    device = resolve_device(args.device)
    cfg = preset(args.size).with_attention(args.attention)
    run = reference_run(cfg, device=device, dtype=resolve_dtype(args.dtype, device), seed=args.seed)
    print(f"device {run.device_label}, dtype {run.dtype_label}, size {args.size}, attention {cfg.attention}")
    print(f"loss {run.loss.item():.6f} (ln V = {math.log(cfg.vocab):.6f}), {len(run.tensors)} tensors captured, "
          f"{run.seconds:.3f} s")


if __name__ == "__main__":  # pragma: no cover
    main()
