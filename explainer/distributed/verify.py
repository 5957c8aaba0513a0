"""``explainer verify NAME --world-size P``: a sharded layer across P processes against the single-process oracle.

:func:`verify` checks the input (before any process starts), launches the workers, and returns an
:class:`Outcome`: the comparison rows (output and every gradient, with ``torch.testing.assert_close``
tolerances) and the communication rows (bytes each rank wrote to its sockets in each phase, against the
formula). :func:`report` prints both.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

from explainer.distributed import DERIVATIONS
from explainer.errors import UsageError, positive_int

#: Gloo frames each message with a header; measured on loopback: +576 B on one 800 kB all-reduce (2 ranks),
#: +1.7 kB on a 6 kB one (4 ranks). A phase passes if formula ≤ measured ≤ formula·(1 + SLACK) + HEADERS.
SLACK, HEADERS = 0.25, 4096
DEFAULT_TIMEOUT = 120.0


@dataclass
class CommRow:
    """One phase's bytes: measured on each rank, the formula, and whether they agree."""

    case: str
    phase: str
    formula: int
    formula_text: str
    measured: list
    status: str
    notes: str = ""


@dataclass
class Outcome:
    """Everything one distributed verification found."""

    name: str
    world_size: int
    backend: str
    device: str
    dtype: str
    seed: int
    seconds: float
    rows: list = field(default_factory=list)
    comm: list = field(default_factory=list)
    calls: list = field(default_factory=list)
    blocks: dict = field(default_factory=dict)
    layer_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(r.status != "failed" for r in self.rows) and all(c.status != "failed" for c in self.comm)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["rows"] = [r.as_dict() for r in self.rows]
        data["ok"] = self.ok
        return data


def resolve(name: str, world_size, device: str, dtype: str) -> tuple[str, str]:
    """Check the request before any process starts; return (device, backend). UsageError when it cannot run."""
    from explainer.distributed import specs
    from explainer.distributed.worker import DTYPES

    if name not in DERIVATIONS:
        from explainer.registry import unknown_message

        raise UsageError(unknown_message("distributed derivation", name, list(DERIVATIONS)))
    positive_int(world_size, "--world-size")
    specs.spec(name).validate(world_size)
    if dtype not in DTYPES:
        raise UsageError(f"--dtype {dtype}: distributed checks run in {' or '.join(DTYPES)}")
    return _backend(device, world_size)


def _backend(device: str, world_size: int) -> tuple[str, str]:
    import torch
    import torch.distributed as dist

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device == "auto":
        device = "cuda" if gpus >= world_size and dist.is_nccl_available() else "cpu"
    if device == "cpu":
        if not dist.is_gloo_available():
            raise UsageError("this torch build has no gloo backend, so CPU processes cannot talk to each other")
        return "cpu", "gloo"
    build = " (this torch is a CPU-only build)" if torch.version.cuda is None else ""
    if not dist.is_nccl_available():
        raise UsageError(f"--device cuda needs NCCL, which this torch build lacks{build}; use --device cpu (gloo)")
    if gpus < world_size:
        raise UsageError(f"--device cuda runs one rank per GPU (NCCL): --world-size {world_size} needs "
                         f"{world_size} GPUs, this machine has {gpus}{build}; use --device cpu (gloo)")
    return "cuda", "nccl"


def verify(name: str, world_size: int, *, device: str = "cpu", dtype: str = "float64", seed: int = 0,
           timeout: float = DEFAULT_TIMEOUT, fn=None) -> Outcome:
    """Run ``fn`` (default: the built-in sharded layer) on ``world_size`` ranks and compare with the oracle."""
    from explainer.distributed import launch, shards, specs
    from explainer.distributed.worker import Plan, run_rank

    device, backend = resolve(name, world_size, device, dtype)
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        raise UsageError(f"timeout must be a positive number of seconds, got {timeout!r}")
    fn = fn or {"tensor-parallel-attention": shards.tensor_parallel_attention,
                "tensor-parallel-mlp": shards.tensor_parallel_mlp,
                "ring-attention": shards.ring_self_attention}[name]
    plan = Plan(name, world_size, launch.choose_port(), backend, device, dtype, seed, timeout)
    start = time.perf_counter()
    result = launch.launch(run_rank, world_size, (plan, fn), timeout)
    seconds = time.perf_counter() - start
    from explainer.numeric.compare import Result

    spec = specs.spec(name, plan.sizes)
    itemsize = 8 if dtype == "float64" else 4
    outcome = Outcome(name, world_size, backend, device, dtype, seed, seconds)
    for case in result["cases"]:
        outcome.rows += [Result(**row) for row in case["rows"]]
        outcome.comm += _comm_rows(case, spec.formula(world_size, itemsize))
        outcome.layer_seconds += max(rank["seconds"] for rank in case["ranks"])
        outcome.calls += [{"case": case["case"], **call} for call in case["ranks"][0]["calls"]]
        if any(rank["blocks"] for rank in case["ranks"]):
            outcome.blocks[case["case"] or "no mask"] = [rank["blocks"][0] for rank in case["ranks"]]
    return outcome


def _comm_rows(case: dict, formulas: dict) -> list[CommRow]:
    rows = []
    for phase, (formula, text) in formulas.items():
        measured = [rank["windows"].get(phase) for rank in case["ranks"]]
        rows.append(CommRow(case["case"], phase, formula, text, measured, *_judge(formula, measured)))
    return rows


def _judge(formula: int, measured: list) -> tuple[str, str]:
    """passed: formula ≤ bytes ≤ formula·(1 + SLACK) + HEADERS on every rank (gloo's headers on top)."""
    if any(m is None for m in measured):
        return "not measured", ("NCCL and platforms without /proc/self/io do not show the bytes a process "
                                "sends; the formula stands unchecked")
    if any(m < formula for m in measured):
        return "failed", "a rank sent less than the formula: a collective is missing"
    if any(m > formula * (1 + SLACK) + HEADERS for m in measured):
        return "finding", "more than the formula plus message headers: extra communication"
    return "passed", ""


def report(outcome: Outcome) -> str:
    """The comparison table, the communication table and the timings, as text."""
    from explainer.numeric.verify import table

    s = outcome
    header = (f"{s.name} across {s.world_size} processes: backend {s.backend}, device {s.device}, dtype {s.dtype}, "
              f"seed {s.seed}; oracle: PyTorch's single-process module on rank 0")
    lines = [table(s.rows, header).rstrip("\n"), "", "communication per rank (bytes written to its sockets, "
             "measured in each phase, against the formula):"]
    for c in s.comm:
        measured = ", ".join("?" if m is None else str(m) for m in c.measured)
        ratio = "" if None in c.measured or not c.formula else f"  ×{max(c.measured) / c.formula:.3f}"
        case = f"{c.case}: " if c.case else ""
        lines.append(f"  {case}{c.phase}: ranks sent [{measured}] B, formula {c.formula} B{ratio}  {c.status}")
        lines.append(f"      formula: {c.formula_text}" + (f"; {c.notes}" if c.notes else ""))
    lines.append("collectives on rank 0 (payload → bytes written):")
    for call in _grouped(s.calls):
        lines.append(f"  {call}")
    for case, counts in s.blocks.items():
        done = ", ".join(f"{computed}/{held}" for computed, held in counts)
        lines.append(f"{case}: key/value blocks attended per rank (of those that passed by): [{done}]")
    lines.append(f"time: {s.seconds:.1f} s in all (start {s.world_size} processes, process group, oracle), "
                 f"sharded layer forward + backward {s.layer_seconds:.3f} s (slowest rank)")
    return "\n".join(lines) + "\n"


def _grouped(calls: list[dict]) -> list[str]:
    """``label ×n: payload … B → … B written`` for each distinct (case, label)."""
    groups: dict[tuple, list] = {}
    for call in calls:
        groups.setdefault((call["case"], call["label"]), []).append(call)
    out = []
    for (case, label), group in groups.items():
        written = [c["written"] for c in group]
        total = "?" if None in written else str(sum(written))
        prefix = f"{case}: " if case else ""
        out.append(f"{prefix}{label} ×{len(group)}: payload {sum(c['payload'] for c in group)} B → {total} B")
    return out


def as_json(outcome) -> str:
    """One outcome as a JSON object, several as a list."""
    data = [o.as_dict() for o in outcome] if isinstance(outcome, list) else outcome.as_dict()
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
