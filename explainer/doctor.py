"""What is installed, and what each missing piece disables (``explainer doctor``)."""
from __future__ import annotations

import platform
import shlex
import shutil
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

APT = "sudo apt-get install --no-install-recommends"
PIP = f"{shlex.quote(sys.executable)} -m pip install"  # the interpreter running explainer, from any folder


@dataclass(frozen=True, slots=True)
class Item:
    """One component: its version or path (None when missing), what it enables, how to install it."""

    name: str
    found: str | None
    enables: str
    install: str


def version(package: str) -> str | None:
    """The installed version of ``package`` without importing it."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def nvidia_driver() -> bool:
    """Whether an NVIDIA driver is loaded (without it no CUDA device can exist)."""
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


def cuda_device() -> str | None:
    """The name of CUDA device 0, or None. Imports torch (seconds) only where an NVIDIA driver is
    loaded: only call it when torch is installed."""
    if not nvidia_driver():
        return None
    import torch

    if not torch.cuda.is_available():
        return None
    return f"{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})"


def latex_tools() -> dict[str, str | None]:
    """Paths of ``latex`` and ``dvisvgm`` (Manim's MathTex needs both)."""
    return {tool: shutil.which(tool) for tool in ("latex", "dvisvgm")}


def items() -> list[Item]:
    torch_version = version("torch")
    tools = latex_tools()
    found = [
        Item("python", platform.python_version(), "everything", "Python 3.11 or newer"),
        Item("sympy", version("sympy"), "derivations and proofs (list, show, check)", f"{PIP} sympy"),
        Item("click", version("click"), "the command line", f"{PIP} click"),
        Item("numpy", version("numpy"), "numeric glue", f"{PIP} numpy"),
        Item("torch", torch_version, "verify (the PyTorch reference run)", f"{PIP} torch==2.13.0"),
        Item("cuda", (cuda_device() or None) if torch_version else None,
             "GPU checks (verify runs on the CPU without it)", "a machine with an NVIDIA GPU and a CUDA build of torch"),
        Item("manim", version("manim"), "render (animation videos)",
             f"{APT} libcairo2-dev libpango1.0-dev pkg-config && {PIP} 'transformer-math-explainer[render]'"),
        Item("latex", tools["latex"], "formulas in videos (MathTex) and the LaTeX compile test",
             f"{APT} texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended"),
        Item("dvisvgm", tools["dvisvgm"], "formulas in videos (MathTex)", f"{APT} dvisvgm"),
    ]
    return found


def report(found: list[Item]) -> str:
    """A table of components, then one line per missing piece: what it disables and how to install it."""
    out = [f"{'component':<10} {'status':<44} needed for"]
    for i in found:
        out.append(f"{i.name:<10} {(i.found or 'missing'):<44} {i.enables}")
    missing = [i for i in found if not i.found]
    if missing:
        out += ["", "Missing pieces:"]
        out += [f"  - {i.name}: disables {i.enables}.\n    Install: {i.install}" for i in missing]
    else:
        out += ["", "Everything is installed."]
    return "\n".join(out) + "\n"
