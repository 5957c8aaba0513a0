"""Time and peak memory of attention against the sequence length n: math backend vs fused kernels.

The log–log slopes are printed next to what the ``attention-cost`` derivation predicts.

What runs: one self-attention layer as ``attention-cost`` counts it (one sequence, width d, h heads, no
biases, no mask): X W_QKV, ``F.scaled_dot_product_attention`` forced to one backend with
``sdpa_kernel``, then C W_O; forward only, under ``no_grad``; n doubles from ``--min-n``. Every backend
the device has is tried (math, flash, memory-efficient, cuDNN); those that cannot run say why.

Predictions, read from the derivation (nothing typed in here): its FLOPs closed form 8nd² + 4n²d for the
time, its memory step b(S + S + 4nd) = b(2hn² + 4nd) for the math backend (scores, weights, Q, K, V,
context) and the same step with the score matrices S left out, b·4nd, for the fused kernels (the
derivation's assumption: FlashAttention never stores the n × n matrices). The predicted slope is the
least-squares slope of log(prediction) over the same n as the measurement; in brackets its limit
n·f′(n)/f(n) as n → ∞ (SymPy): 2 for the FLOPs and the math backend's memory, 1 for the fused kernels.

Measured:
* time — the fastest block of ``torch.utils.benchmark.Timer.blocked_autorange`` (it synchronises
  CUDA; each block is the mean of its runs). The fastest, not the median, because on a shared machine
  the slower blocks measure the other processes (as ``timeit``'s documentation says of its repeats).
  On a CPU shared with other work, ``--threads 1`` is steadier: with every core in use, torch's
  threads wait for each other at each parallel region (here 2 threads turned a 1 ms layer into 60–110 ms).
* peak memory — bytes allocated by torch above what was live when the forward began. CUDA:
  ``torch.cuda.max_memory_allocated()`` after ``reset_peak_memory_stats()``. CPU: torch has no CPU peak
  counter, so one forward runs under ``torch.profiler.profile(profile_memory=True)``, whose ``[memory]``
  events record every allocation and free of torch's CPU allocator; the peak is the largest running sum.
  Python objects, the interpreter and allocator caching are not counted (this is not RSS). The
  "predicted MiB" column uses b = the bytes of the run's dtype; on this CPU (torch 2.13) the math
  backend computes float16/bfloat16 inputs in float32, so there it holds 4 bytes an entry.

    PYTHONPATH=. python3 benchmarks/attention_scaling.py                    # CUDA if present, else CPU
    PYTHONPATH=. python3 benchmarks/attention_scaling.py --device cpu --max-n 4096 --threads 1
    PYTHONPATH=. python3 benchmarks/attention_scaling.py --device cuda --max-n 32768 --dtype float16

Measured (2026-11-23, this shared 2-core AMD EPYC machine, torch 2.13.0+cpu, float32, d = 256, h = 4,
n = 128…4096, ``--threads 1``; benchmarks/results/attention-scaling-cpu.md): peak memory, math backend
40 MiB at n = 1024 and 592 MiB at 4096 (derivation 36 and 528), flash 5 and 20 MiB (derivation 4 and
16). Slopes, measured vs predicted over the same n: math time 1.88 vs 1.57 (→ 2), math memory 1.83 vs
1.82 (→ 2); flash time 1.59 vs 1.57 (→ 2), flash memory 1.00 vs 1.00 (→ 1). Flash keeps 86–91 GFLOP/s
at every n; the math backend falls from 83 to 33 GFLOP/s as its n × n matrices outgrow the caches,
which is why its time grows faster than its FLOPs. No GPU run yet.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import sys
import time
from pathlib import Path

# benchmarks/tokenize.py would shadow the standard library's tokenize (torch needs it): drop this folder
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.nn.attention import sdpa_kernel  # noqa: E402
from torch.utils.benchmark import Timer  # noqa: E402

from explainer import registry  # noqa: E402
from explainer.errors import ExplainerError  # noqa: E402
from explainer.numeric.checks.backends import BACKENDS, run_backend  # noqa: E402
from explainer.numeric.run import DTYPES, device_name, resolve_device, resolve_dtype  # noqa: E402

MiB = 2**20


# --- what the derivation predicts ----------------------------------------------------------------
def attention_cost_forms() -> tuple[sp.Symbol, dict[str, sp.Expr], dict[str, sp.Symbol]]:
    """``(n, {"flops": F, "math": bytes, "fused": bytes}, {"d": d, "h": h, "b": b})`` from the
    ``attention-cost`` derivation, symbolic in n, the width d, the heads h and the bytes b an entry.

    FLOPs: the closed form ``flops``. Memory: the derivation's step ``b(S + S + 4nd) = b(2hn² + 4nd)``
    for the math backend, and its left side with the score matrices ``S`` set to 0 for the fused kernels,
    which never store them (the derivation's own assumption).
    """
    registry.load()
    cost = registry.build("attention-cost")
    forms = cost.closed_forms()
    named = {s.symbol.name: s.symbol for s in cost.symbols}
    S, b, n, d, h = (named[k] for k in ("S_scores", "b", "n", "d", "h"))
    (n_arg, d_arg), flops = forms["flops"]  # the closed forms name their arguments after the run's config
    (_, h_arg), entries = forms["score_memory"]
    flops, entries = flops.xreplace({n_arg: n, d_arg: d}), entries.xreplace({n_arg: n, h_arg: h})
    step = next(s for s in cost.steps if s.lhs is not None and {S, b} <= s.lhs.free_symbols)
    if sp.expand(step.lhs.xreplace({S: entries}) - step.rhs) != 0:
        raise ValueError(f"attention-cost's memory step is not b(2S + 4nd) any more: {step.lhs} = {step.rhs}")
    return n, {"flops": flops, "math": step.rhs, "fused": step.lhs.xreplace({S: 0})}, {"d": d, "h": h, "b": b}


def predictions(d_model: int, n_heads: int, bytes_per_entry: int) -> tuple[sp.Symbol, dict[str, sp.Expr]]:
    """:func:`attention_cost_forms` at width ``d_model``, ``n_heads`` heads and ``bytes_per_entry``: functions of n."""
    n, forms, sizes = attention_cost_forms()
    values = {sizes["d"]: d_model, sizes["h"]: n_heads, sizes["b"]: bytes_per_entry}
    return n, {kind: expr.xreplace(values) for kind, expr in forms.items()}


def asymptotic_slope(expr: sp.Expr, n: sp.Symbol) -> sp.Expr:
    """lim_{n→∞} d log f / d log n = n f′(n) / f(n): the exponent of the leading power of n."""
    return sp.limit(n * sp.diff(expr, n) / expr, n, sp.oo)


def loglog_slope(ns, values) -> float:
    """Least-squares slope of log(value) against log(n); NaN with fewer than two points."""
    ns, values = np.asarray(ns, dtype=float), np.asarray(values, dtype=float)
    keep = np.isfinite(values) & (values > 0)
    if keep.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(ns[keep]), np.log(values[keep]), 1)[0])


def predicted_slope(expr: sp.Expr, n: sp.Symbol, ns) -> float:
    """The slope the derivation predicts over the same n as a measurement."""
    f = sp.lambdify(n, expr, "math")
    return loglog_slope(ns, [float(f(m)) for m in ns])


# --- the layer and its measurement ---------------------------------------------------------------
def attention_layer(x, w_qkv, w_o, n_heads: int):
    """One self-attention layer without biases or mask, as ``attention-cost`` counts it."""
    B, n, d = x.shape                                                                 # (1, n, d)
    q, k, v = F.linear(x, w_qkv).split(d, dim=-1)                                     # 3 × (1, n, d)
    q, k, v = (t.view(B, n, n_heads, d // n_heads).transpose(1, 2) for t in (q, k, v))  # (1, h, n, d_k)
    y = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0)                        # (1, h, n, d_k)
    return F.linear(y.transpose(1, 2).reshape(B, n, d), w_o)                          # (1, n, d)


@contextlib.contextmanager
def _quiet_stderr():
    """Silence the profiler's own start/stop lines (written by C++ to file descriptor 2)."""
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def peak_bytes(fn, device: torch.device) -> int:
    """Peak bytes torch allocated during ``fn()`` above what was live before it (see the module docstring)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        fn()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - base
    from torch.profiler import ProfilerActivity, profile

    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted((e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"),
                    key=lambda e: e.start_ns())
    return int(max(np.cumsum([0] + [e.nbytes() for e in events])))


def measure(n: int, backend: str, device: torch.device, dtype: torch.dtype, d: int, h: int, seed: int,
            min_run_time: float) -> tuple[float, int]:
    """(seconds, peak bytes) of one forward of the layer at length n with ``backend`` forced; the seconds are
    the fastest block of ``Timer.blocked_autorange`` (each block the mean of its runs)."""
    gen = torch.Generator(device=device).manual_seed(seed)
    x = torch.randn(1, n, d, generator=gen, device=device, dtype=dtype)               # (1, n, d)
    w_qkv = torch.randn(3 * d, d, generator=gen, device=device, dtype=dtype) / math.sqrt(d)  # (3d, d)
    w_o = torch.randn(d, d, generator=gen, device=device, dtype=dtype) / math.sqrt(d)        # (d, d)

    def forward():
        with torch.no_grad(), sdpa_kernel([BACKENDS[backend]]):
            return attention_layer(x, w_qkv, w_o, h)

    forward()                                                                         # warm-up
    peak = peak_bytes(forward, device)
    timer = Timer("forward()", globals={"forward": forward}, num_threads=torch.get_num_threads())
    return min(timer.blocked_autorange(min_run_time=min_run_time).times), peak


def available(device: torch.device, dtype: torch.dtype, d_k: int) -> dict[str, str]:
    """Backend name -> "" if it runs here, else PyTorch's reason it cannot."""
    q = torch.zeros(1, 1, 8, d_k, device=device, dtype=dtype)
    return {name: run_backend(name, q, q, q)[1] for name in BACKENDS}


def _machine(device: torch.device) -> str:
    if device.type == "cuda":
        return device_name(device)
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    load = f", load average {os.getloadavg()[0]:.1f} at the start" if hasattr(os, "getloadavg") else ""
    return f"cpu ({model}, {torch.get_num_threads()} threads{load})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--dtype", choices=tuple(DTYPES), help="default: float32 on CPU, float16 on CUDA")
    parser.add_argument("--min-n", type=int, default=128)
    parser.add_argument("--max-n", type=int, help="default: 4096 on CPU, 32768 on CUDA")
    parser.add_argument("--d-model", type=int, default=256)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-run-time", type=float, default=1.0, help="seconds of timing per point")
    parser.add_argument("--threads", type=int, help="CPU threads (default: torch's own choice)")
    opts = parser.parse_args(argv)
    if opts.threads:
        torch.set_num_threads(opts.threads)
    try:
        device = resolve_device(opts.device)
        dtype = resolve_dtype(opts.dtype or ("float16" if device.type == "cuda" else "float32"), device)
    except ExplainerError as exc:
        parser.error(str(exc))
    d, h = opts.d_model, opts.heads
    if d % h or opts.min_n < 2:
        parser.error("--heads must divide --d-model, and --min-n must be at least 2")
    max_n = opts.max_n or (32768 if device.type == "cuda" else 4096)
    ns = [opts.min_n * 2**i for i in range(int(math.log2(max_n / opts.min_n)) + 1)]
    dtype_name = str(dtype).removeprefix("torch.")
    n, forms = predictions(d, h, torch.finfo(dtype).bits // 8)
    predicted = {k: sp.lambdify(n, e, "math") for k, e in forms.items()}

    print(f"{_machine(device)}, torch {torch.__version__}, python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}")
    print(f"one attention layer, forward, no mask: d = {d}, h = {h}, d_k = {d // h}, {dtype_name}, "
          f"n = {ns[0]}…{ns[-1]}, seed {opts.seed}")
    reasons = available(device, dtype, d // h)
    backends = [b for b, why in reasons.items() if not why]
    for b, why in reasons.items():
        if why:
            print(f"  {b}: {why}")
    header = f"{'n':>6}  {'backend':<16} {'time ms':>10} {'GFLOP/s':>8} {'peak MiB':>10} {'predicted MiB':>14}"
    print(header + "\n" + "-" * len(header))
    results: dict[str, list[tuple[int, float, float]]] = {b: [] for b in backends}
    for m in ns:
        flops = predicted["flops"](m)
        for b in backends:
            kind = "math" if b == "math" else "fused"
            try:
                seconds, peak = measure(m, b, device, dtype, d, h, opts.seed, opts.min_run_time)
            except RuntimeError as exc:  # torch.cuda.OutOfMemoryError is one too
                results[b].append((m, math.nan, math.nan))
                why = "out of memory" if "out of memory" in str(exc).lower() else str(exc).splitlines()[0][:120]
                print(f"{m:>6}  {b:<16} {why}")
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                continue
            results[b].append((m, seconds, peak))
            print(f"{m:>6}  {b:<16} {seconds * 1e3:>10.2f} {flops / seconds / 1e9:>8.1f} {peak / MiB:>10.2f} "
                  f"{predicted[kind](m) / MiB:>14.2f}")
    print(f"\nlog–log slopes over n = {ns[0]}…{ns[-1]} (least squares), measured vs the attention-cost prediction "
          "over the same n (→ its limit as n → ∞):")
    print(f"  {'backend':<16} {'time':>5}  {'predicted':<12} {'memory':>6}  predicted")
    flops_limit = asymptotic_slope(forms["flops"], n)
    for b, rows in results.items():
        kind = "math" if b == "math" else "fused"
        ms, secs, peaks = zip(*rows)
        ran = [m for m, t in zip(ms, secs) if math.isfinite(t)]  # predict over the n that ran
        time_ = f"{predicted_slope(forms['flops'], n, ran):.2f} (→ {flops_limit})"
        mem = f"{predicted_slope(forms[kind], n, ran):.2f} (→ {asymptotic_slope(forms[kind], n)})"
        print(f"  {b:<16} {loglog_slope(ms, secs):>5.2f}  {time_:<12} {loglog_slope(ms, peaks):>6.2f}  {mem}")
    _, general, symbols = attention_cost_forms()
    plain = {symbols["d"]: sp.Symbol("d"), symbols["h"]: sp.Symbol("h")}
    show = {kind: sp.sstr(expr.xreplace(plain)) for kind, expr in general.items()}
    print(f"predicted from: FLOPs {show['flops']} = {forms['flops']}; math-backend bytes {show['math']} = "
          f"{forms['math']}; fused bytes {show['fused']} = {forms['fused']}")


if __name__ == "__main__":
    main()
