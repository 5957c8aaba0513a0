"""The built-ins live in the top-level ``derivations/`` and ``scenes/`` folders but are the packages
``explainer.derivations`` and ``explainer.scenes`` (issue 13): in a checkout through the stand-ins in
``explainer/``, in an installed copy through pyproject.toml's package-dir mapping."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from explainer import derivations, scenes

ROOT = Path(__file__).parents[1]


def test_in_a_checkout_the_packages_are_the_top_level_folders():
    assert Path(derivations.__path__[0]) == ROOT / "derivations"
    assert Path(scenes.__path__[0]) == ROOT / "scenes" and Path(scenes.__file__) == ROOT / "scenes" / "__init__.py"
    assert scenes.SCENES and scenes.__doc__.startswith("Manim scenes")  # the real __init__ ran
    from explainer.derivations import softmax

    assert Path(softmax.__file__) == ROOT / "derivations" / "softmax.py"


def test_the_install_maps_the_same_folders():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"explainer.derivations": "derivations", "explainer.scenes": "scenes"}
    assert setuptools["packages"]["find"]["include"] == ["explainer*"]  # no top-level derivations or scenes


def test_no_module_imports_the_old_top_level_names():
    found = []
    for folder in ("explainer", "derivations", "scenes", "tests", "benchmarks", "examples"):
        for path in (ROOT / folder).rglob("*.py"):
            for line in path.read_text(encoding="utf-8").splitlines():
                words = line.split()
                if words[:1] in (["import"], ["from"]) and len(words) > 1 and words[1].split(".")[0] in (
                        "derivations", "scenes"):
                    found.append(f"{path.relative_to(ROOT)}: {line.strip()}")
    assert not found


@pytest.mark.slow
def test_a_wheel_holds_the_built_ins_under_explainer(tmp_path):
    source = tmp_path / "source"  # a copy: building writes build/ and *.egg-info beside pyproject.toml
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "media", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(source)], check=True, timeout=600, cwd=tmp_path)
    wheel = zipfile.ZipFile(next(tmp_path.glob("*.whl")))
    names = wheel.namelist()
    assert "explainer/derivations/softmax.py" in names and "explainer/scenes/manim.cfg" in names
    assert not [n for n in names if n.startswith(("derivations/", "scenes/"))]
    real = (ROOT / "scenes" / "__init__.py").read_text(encoding="utf-8")
    assert wheel.read("explainer/scenes/__init__.py").decode() == real  # the real one, not the stand-in
