r"""The collectives a sharded layer needs, differentiable, each one metered.

Megatron's two conjugate operators (Shoeybi et al. 2019, §3) carry a tensor-parallel layer:

* :func:`copy_to_ranks` — ``f``: identity forward; backward, the ranks' partial input gradients are summed
  (one all-reduce), because every rank used the same input;
* :func:`sum_over_ranks` — ``g``: all-reduce forward (the partial outputs add up to the layer's output);
  identity backward, because ∂(Σ_r y_r)/∂y_r = I.

:func:`ring_exchange` passes a tensor one step around the ring (send to rank r + 1, receive from r − 1).

The meter reads the bytes this process wrote to its sockets (``wchar`` of ``/proc/self/io``: every byte
passed to ``write``/``writev``, which is how gloo's TCP transport sends) before and after each call, so the
figures are measured, not computed from the tensor size; they include gloo's message headers. Where
``/proc/self/io`` does not exist (not Linux) or the transport bypasses the kernel (NCCL over NVLink) the
measurement is ``None`` and the report says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist

_PROC_IO = Path("/proc/self/io")


def bytes_written() -> int | None:
    """Bytes this process has passed to write-family system calls so far (``None`` if unknown)."""
    try:
        for line in _PROC_IO.read_text().splitlines():
            if line.startswith("wchar:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass
class Call:
    """One metered collective: what it was, how many payload bytes it carried, what the socket saw."""

    label: str
    payload: int
    written: int | None


@dataclass
class Meter:
    """The metered calls of this process, in order."""

    calls: list[Call] = field(default_factory=list)
    enabled: bool = True
    #: ring attention: (blocks computed, blocks held) of each forward pass on this rank
    blocks: list[tuple[int, int]] = field(default_factory=list)

    def measure(self, label: str, payload: int, action):
        """Run ``action()`` and record the bytes written while it ran."""
        before = bytes_written() if self.enabled else None
        result = action()
        after = bytes_written() if self.enabled else None
        written = after - before if before is not None and after is not None else None
        self.calls.append(Call(label, payload, written))
        return result


METER = Meter()


def _all_reduce(t: torch.Tensor, label: str) -> torch.Tensor:
    t = t.contiguous()
    METER.measure(label, t.numel() * t.element_size(), lambda: dist.all_reduce(t))
    return t


class _CopyToRanks(torch.autograd.Function):
    """f: y = x on every rank; ∂L/∂x = Σ_r ∂L_r/∂x (all-reduce)."""

    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return _all_reduce(grad.clone(), "all-reduce of ∂L/∂X (backward)")


class _SumOverRanks(torch.autograd.Function):
    """g: y = Σ_r y_r (all-reduce); ∂L/∂y_r = ∂L/∂y."""

    @staticmethod
    def forward(ctx, partial):
        return _all_reduce(partial.clone(), "all-reduce of the partial outputs (forward)")

    @staticmethod
    def backward(ctx, grad):
        return grad


def copy_to_ranks(x: torch.Tensor) -> torch.Tensor:
    """Megatron's ``f``: use a replicated input in a sharded layer (its gradient is all-reduced)."""
    return _CopyToRanks.apply(x)


def sum_over_ranks(partial: torch.Tensor) -> torch.Tensor:
    """Megatron's ``g``: add the ranks' partial outputs (one all-reduce), gradient passed through."""
    return _SumOverRanks.apply(partial)


def ring_exchange(t: torch.Tensor, label: str) -> torch.Tensor:
    """Send ``t`` to rank r + 1 and return what rank r − 1 sent (both directions at once)."""
    rank, size = dist.get_rank(), dist.get_world_size()
    t = t.contiguous()
    received = torch.empty_like(t)

    def exchange():
        requests = [dist.isend(t, (rank + 1) % size), dist.irecv(received, (rank - 1) % size)]
        for request in requests:
            request.wait()

    METER.measure(label, t.numel() * t.element_size(), exchange)
    return received


def all_reduce_gradients(tensors) -> None:
    """Sum replicated parameters' gradients over the ranks (as data parallelism does)."""
    for t in tensors:
        if t.grad is not None:
            t.grad = _all_reduce(t.grad, "all-reduce of replicated weights' gradients")
