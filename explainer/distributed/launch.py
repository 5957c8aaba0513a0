"""Start P worker processes on this machine, wait a bounded time, and end every one of them.

``torch.multiprocessing`` spawns the workers; they meet at a TCP store on ``127.0.0.1`` (never another
interface). The port is ``MASTER_PORT`` when set (as ``torchrun`` sets it), else a free one. A worker that
raises, exits or is killed ends the run at once; one that hangs ends it after ``timeout`` seconds; either
way every worker still alive is terminated (then killed) before this returns, and the caller gets a
:class:`WorkerError` (exit 2) that says which rank and why.
"""
from __future__ import annotations

import errno
import logging
import os
import socket
import tempfile
import time
from pathlib import Path

from explainer.errors import ExplainerError, UsageError

LOOPBACK = "127.0.0.1"
_POLL = 0.2      # seconds between looks at the workers
_GRACE = 3.0     # seconds a terminated worker gets before it is killed


class WorkerError(ExplainerError):
    """A worker raised, died or did not finish in time (exit code 2)."""

    exit_code = 2

    def __init__(self, message: str, detail: str = ""):
        super().__init__(message)
        self.detail = detail


def choose_port() -> int:
    """``MASTER_PORT`` if set (it must be free on the loopback), else a port the kernel says is free.

    ``MASTER_ADDR``, when set, must be a loopback address: the workers never listen elsewhere.
    """
    address = os.environ.get("MASTER_ADDR")
    if address not in (None, "", LOOPBACK, "localhost"):
        raise UsageError(f"MASTER_ADDR={address}: the workers only use the loopback interface ({LOOPBACK}); "
                         "unset MASTER_ADDR or set it to 127.0.0.1")
    wanted = os.environ.get("MASTER_PORT")
    if wanted:
        if not wanted.isdigit() or not 0 < int(wanted) < 65536:
            raise UsageError(f"MASTER_PORT={wanted!r} is not a port number (1–65535)")
        if not port_is_free(int(wanted)):
            raise UsageError(f"port {wanted} on {LOOPBACK} (MASTER_PORT) is already in use; free it, choose "
                             "another, or unset MASTER_PORT to let explainer pick a free one")
        return int(wanted)
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((LOOPBACK, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def launch(worker, world_size: int, args: tuple, timeout: float) -> dict:
    """Run ``worker(rank, *args, result_path)`` in ``world_size`` spawned processes; return rank 0's JSON.

    Raises :class:`WorkerError` if a worker fails or the run takes longer than ``timeout`` seconds.
    """
    import json

    import torch.multiprocessing as mp

    logging.getLogger("torch.multiprocessing.spawn").setLevel(logging.ERROR)  # we say it ourselves
    with tempfile.TemporaryDirectory(prefix="explainer-dist-") as tmp:
        result = Path(tmp, "rank0.json")
        context = mp.start_processes(worker, args=(*args, str(result)), nprocs=world_size, join=False,
                                     start_method="spawn")
        try:
            _wait(context, world_size, timeout)
        finally:
            _end(context.processes)
        if not result.exists():
            raise WorkerError("the workers finished but rank 0 wrote no result")
        return json.loads(result.read_text(encoding="utf-8"))


def _wait(context, world_size: int, timeout: float) -> None:
    from torch.multiprocessing import ProcessExitedException, ProcessRaisedException

    deadline = time.monotonic() + timeout
    try:
        while not context.join(timeout=_POLL, grace_period=_GRACE):
            if time.monotonic() > deadline:
                raise WorkerError(f"the {world_size} workers did not finish within {timeout:g} s (a rank hangs or "
                                  "waits for a peer that never comes); every worker was ended")
    except ProcessRaisedException as exc:
        raise WorkerError(f"rank {exc.error_index} failed: {_last_line(str(exc))}; every worker was ended",
                          detail=str(exc)) from None
    except ProcessExitedException as exc:
        how = f"was killed by {exc.signal_name}" if exc.signal_name else f"exited with code {exc.exit_code}"
        raise WorkerError(f"rank {exc.error_index} {how} before it finished; every worker was ended") from None


def _last_line(traceback_text: str) -> str:
    """The exception line of a worker's traceback (``ValueError: …``), with a hint for a taken port."""
    lines = [line.strip() for line in traceback_text.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "no message"
    if "EADDRINUSE" in traceback_text or "address already in use" in traceback_text.lower():
        last += f" (the port on {LOOPBACK} was taken by another process; run again to pick a free one)"
    return last


def _end(processes) -> None:
    """Terminate every worker still alive, kill those that ignore it, and reap them all."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + _GRACE
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()
