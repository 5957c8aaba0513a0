"""What each rank runs: join the process group, take its shard, run the sharded layer forward and
backward with the bytes metered, send everything to rank 0; rank 0 runs the oracle and compares.

The comparison and the metering are written to a JSON file by rank 0 (the parent reads it).
"""
from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import timedelta

import torch
import torch.distributed as dist

from explainer.distributed import specs
from explainer.distributed.collectives import METER, all_reduce_gradients, bytes_written
from explainer.numeric import compare

DTYPES = {"float64": torch.float64, "float32": torch.float32}


@dataclass(frozen=True)
class Plan:
    """Everything a rank needs to know (pickled to each worker)."""

    name: str
    world_size: int
    port: int
    backend: str = "gloo"
    device: str = "cpu"
    dtype: str = "float64"
    seed: int = 0
    timeout: float = 120.0
    sizes: specs.Sizes = field(default_factory=specs.Sizes)

    @property
    def label(self) -> str:
        return f"{self.device} ×{self.world_size} ({self.backend})"


class ShardError(Exception):
    """The sharded function returned something that is not this rank's output."""


def run_rank(rank: int, plan: Plan, fn, result_path: str) -> None:
    """The body of worker ``rank`` (``torch.multiprocessing`` calls it with the rank first)."""
    torch.set_num_threads(1)  # P processes share the machine's cores
    _loopback_only()
    device = torch.device("cuda", rank) if plan.device == "cuda" else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(plan.backend, init_method=f"tcp://127.0.0.1:{plan.port}", rank=rank,
                            world_size=plan.world_size, timeout=timedelta(seconds=plan.timeout))
    try:
        spec = specs.spec(plan.name, plan.sizes)
        full = spec.to(spec.problem(plan.seed), DTYPES[plan.dtype], device)
        cases = [_run_case(spec, full, rank, plan, fn, case) for case in spec.cases]
        if rank == 0:
            with open(result_path, "w", encoding="utf-8") as out:
                json.dump({"cases": cases}, out)
    finally:
        dist.destroy_process_group()


def _loopback_only() -> None:
    """Make gloo and NCCL listen on the loopback interface, never on a network one."""
    names = [name for _, name in socket.if_nameindex() if name.startswith("lo")]
    if names:
        os.environ["GLOO_SOCKET_IFNAME"] = os.environ["NCCL_SOCKET_IFNAME"] = names[0]


def _run_case(spec, full: dict, rank: int, plan: Plan, fn, case: str) -> dict | None:
    p = plan.world_size
    x, grad_out, tensors, settings = spec.shard(full, rank, p, case)
    x = x.detach().clone().requires_grad_(True)
    tensors = {k: v.detach().clone().requires_grad_(True) for k, v in tensors.items()}
    shard = specs.Shard(rank, p, tensors, **settings)
    METER.calls.clear()
    METER.blocks.clear()
    METER.enabled = plan.backend == "gloo"   # NCCL moves GPU memory without write(): not measurable this way
    dist.barrier()
    windows, start = {}, time.perf_counter()
    out = _window(windows, "forward", lambda: fn(x, shard))
    _check_output(out, x, rank)
    _window(windows, "backward", lambda: (out * grad_out).sum().backward())
    if spec.name == "ring-attention":   # replicated weights: their gradients are partial sums over the blocks
        _window(windows, "gradient sync", lambda: all_reduce_gradients(tensors.values()))
    seconds = time.perf_counter() - start
    local = {"windows": windows, "seconds": seconds, "calls": [vars(c) for c in METER.calls],
             "blocks": list(METER.blocks)}
    grads = {k: _grad(t) for k, t in tensors.items()}
    gathered = [_gather(t, rank, p) for t in (out.detach(), _grad(x), *grads.values())]
    infos = [None] * p
    dist.all_gather_object(infos, local)
    if rank != 0:
        return None
    outs, x_grads, *per_key = gathered
    grads_by_rank = [dict(zip(grads, values)) for values in zip(*per_key)]
    expected_out, expected = spec.oracle(full, case)
    expected["out"] = expected_out
    prefix = f"{case}: " if case else ""
    rows = [_compare(plan, prefix + check, expected[key], actual)
            for check, key, actual in spec.assemble(outs, x_grads, grads_by_rank)]
    return {"case": case, "rows": [r.as_dict() for r in rows], "ranks": infos}


def _window(windows: dict, phase: str, action):
    """Run ``action()`` and record the bytes this rank wrote meanwhile under ``phase`` (None: not measured)."""
    before = bytes_written() if METER.enabled else None
    result = action()
    after = bytes_written() if METER.enabled else None
    windows[phase] = after - before if before is not None and after is not None else None
    return result


def _check_output(out, x: torch.Tensor, rank: int) -> None:
    if not isinstance(out, torch.Tensor):
        raise ShardError(f"rank {rank}: the sharded function returned {type(out).__name__}, not a tensor")
    if out.shape != x.shape:
        raise ShardError(f"rank {rank}: the sharded function returned shape {tuple(out.shape)}; this rank's "
                         f"output has the shape of its input, {tuple(x.shape)}")


def _grad(t: torch.Tensor) -> torch.Tensor:
    """The gradient of a leaf; zeros when none reached it (the comparison then shows where)."""
    return t.grad.detach() if t.grad is not None else torch.zeros_like(t).detach()


def _gather(t: torch.Tensor, rank: int, p: int) -> list[torch.Tensor] | None:
    """Every rank's ``t`` on rank 0 (verification traffic, not metered)."""
    t = t.contiguous()
    bucket = [torch.empty_like(t) for _ in range(p)] if rank == 0 else None
    dist.gather(t, bucket, dst=0)
    return bucket


def _compare(plan: Plan, check: str, expected: torch.Tensor, actual: torch.Tensor) -> compare.Result:
    """assert_close tolerances of the run's dtype; a failing row names its worst entry."""
    if actual.shape != expected.shape and actual.shape[1:] == expected.shape:
        expected = expected.expand(actual.shape)        # one copy per rank
    row = compare.direct(plan.name, check, (plan.label, plan.dtype), expected, actual)
    if row.status == compare.FAILED:
        diff = (actual - expected).abs()
        index = tuple(int(i) for i in torch.unravel_index(diff.argmax(), diff.shape))
        row.notes = (f"worst entry {list(index)}: oracle {expected[index].item():.6g}, "
                     f"sharded {actual[index].item():.6g}")
    return row
