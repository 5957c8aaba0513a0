"""The failure catalogue: bad or edge input to every command, each pinned to its exit code and a fragment
of its message (issue 13). Exit codes: 0 ok, 1 a check failed, 2 a usage error (the user's input, the
user's own module, the environment: a path, the terminal, LaTeX), 3 only a bug, 130 interrupted, 141 the
reader of the output went away.

Most cases run in this process (click's CliRunner); the ones about the process itself (a closed pipe,
Ctrl-C, a full disk, the output encoding, the current folder's own packages) run ``python -m explainer``.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from explainer import registry
from explainer.cli import cli
from explainer.errors import USER_FILES
from explainer.render import require_tools

BROKEN = str(Path(__file__).parents[1] / "data" / "broken.py")
HUGE = "9" * 200

#: Files every case may use, written once into a folder that is the current directory during a case.
FILES = {
    "syntax.py": "x = (\n",
    "raises.py": "import math\nraise RuntimeError('boom')\n",
    "imports_missing.py": "import no_such_package_xyz\n",
    "dup.py": ("from explainer.registry import derivation\n\n\n@derivation('softmax', 'Fake', 'attention')\n"
               "def fake():\n    return None\n"),
    "badname.py": ("from explainer.registry import derivation\n\n\n@derivation('Bad Name', 'x', 'attention')\n"
                   "def bad():\n    return None\n"),
    "builders.py": ("from explainer.registry import derivation\n\n\n@derivation('my-raises', 'Raises', 'attention')\n"
                    "def raises():\n    return 1 / 0\n\n\n@derivation('my-none', 'None', 'attention')\n"
                    "def none():\n    return None\n"),
    "numcheck.py": ("import sympy as sp\nfrom explainer.model import Derivation, Step, define\n"
                    "from explainer.numeric.checks import check\nfrom explainer.registry import derivation\n"
                    "x, y = sp.symbols('x y')\n\n\n@derivation('my-num', 'Num', 'attention')\n"
                    "def build():\n    return Derivation(summary='y = x', steps=(define(y, x, 'definition'),),\n"
                    "                      result=Step(lhs=y, rhs=x, why='the definition'))\n\n\n"
                    "@check('my-num')\ndef check_boom(ctx):\n    raise ValueError('bad tensor shape')\n"),
    "plain.txt": "low lower lowest\nnewer wider\n",
    "empty.txt": "\n  \n",
    "latin1.txt": "café\n".encode("latin-1"),
    "binary.bin": b"\x00\x01\x02",
    "invisible.txt": "a\tb c\u00a0d e\u0301f 日本語 日本 x\u2764\ufe0f\n",
    "hashes.txt": "# ## ### #### #####\n## Notes\n",
    "notjson.json": "{ not json",
    "a_file": "a regular file, where a folder is expected",
}
LINE = {"raises.py": 2, "builders.py": 6, "numcheck.py": 16}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """The files above, a folder, a folder in place of a render's output file, and vocabulary files."""
    from explainer.tokenize import bpe, corpus, wordpiece

    root = tmp_path_factory.mktemp("catalogue")
    for name, content in FILES.items():
        (root / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    (root / "a_folder").mkdir()
    (root / "blocked" / "dot-product-alignment.mp4").mkdir(parents=True)
    bpe.train(corpus.builtin_lines(), 120).tokenizer().save(root / "bpe.json")
    wordpiece.train(corpus.builtin_lines(), 150).tokenizer().save(root / "wp.json")
    damaged = json.loads((root / "bpe.json").read_text(encoding="utf-8"))
    damaged["vocab"].pop()  # the last merge now makes a token the vocabulary lacks
    (root / "damaged.json").write_text(json.dumps(damaged), encoding="utf-8")
    return root


@pytest.fixture
def isolated(folder, monkeypatch):
    """Run in ``folder`` and leave the registry (and the users' modules) as they were."""
    monkeypatch.chdir(folder)
    registry.load()  # the built-ins first, as every command has them
    entries, files, modules = dict(registry._ENTRIES), set(USER_FILES), set(sys.modules)
    checks = sys.modules.get("explainer.numeric.checks.base")
    numeric = {k: list(v) for k, v in checks.CHECKS.items()} if checks else None
    yield folder
    registry._ENTRIES.clear()
    registry._ENTRIES.update(entries)
    USER_FILES.clear()
    USER_FILES.update(files)
    for name in set(sys.modules) - modules:
        if name.startswith("explainer_user_"):
            del sys.modules[name]
    checks = sys.modules.get("explainer.numeric.checks.base")
    if checks is not None:
        checks.CHECKS.clear()
        checks.CHECKS.update(numeric or {})


def case(args, code, *fragments, env=None, stdin=None, absent=()):
    """One row: the arguments, the exit code, fragments the output must contain and ones it must not."""
    return pytest.param(args, code, fragments, env or {}, stdin, absent, id=" ".join(args)[:70] or "(nothing)")


def no_tools() -> bool:
    try:
        require_tools()
    except Exception:
        return True
    return False


def torch_missing() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is None


SIZE = ["size", "--arch", "gpt2", "--layers", "1", "--heads", "1", "--vocab", "1", "--context", "1"]

CATALOGUE = [
    # the command line itself
    case([], 2, "Usage: cli [OPTIONS] COMMAND", "list"),  # no command: the help, as a usage error
    case(["nosuch"], 2, "no such command 'nosuch'", absent=["Did you mean"]),
    case(["lst"], 2, "Did you mean: list"),
    case(["list", "--bogus"], 2, "No such option '--bogus'"),
    case(["--version"], 0, "explainer, version"),
    # list
    case(["list", "--topic", "atention"], 2, "did you mean: attention"),
    case(["list", "--topic", "zzz"], 2, "unknown topic 'zzz' (see 'explainer list')", absent=["did you mean"]),
    case(["list", "--module", "syntax.py"], 2, "syntax.py, line 1: SyntaxError: '(' was never closed"),
    case(["list", "--module", "raises.py"], 2, f"raises.py, line {LINE['raises.py']}: RuntimeError: boom"),
    case(["list", "--module", "imports_missing.py"], 2,
         "imports_missing.py, line 1: ModuleNotFoundError: No module named 'no_such_package_xyz'"),
    case(["list", "--module", "dup.py"], 2, "a derivation named 'softmax' is already registered", "choose another"),
    case(["list", "--module", "badname.py"], 2, "badname.py, line 4", "'Bad Name' must be kebab-case"),
    case(["list", "--module", "a_folder"], 2, "that is a folder; pass the .py file"),
    case(["list", "--module", ""], 2, "--module needs a dotted module name or the path of a .py file"),
    case(["list", "--module", "   "], 2, "got an empty name"),
    case(["list", "--module", "no_such.module"], 2, "cannot import 'no_such.module'", "pass its path"),
    case(["list", "--module", ".relative"], 2, "'.relative' is not a module name"),
    case(["list", "--module", "missing.py"], 2, "module file not found: missing.py"),
    case(["list", "--module", "builders.py", "--json"], 0, '"name": "my-raises"', '"name": "my-none"'),
    # show
    case(["show", "softmx"], 2, "unknown derivation 'softmx'; did you mean: softmax"),
    case(["show", "nosuch"], 2, "unknown derivation 'nosuch' (see 'explainer list')", absent=["did you mean"]),
    case(["show"], 2, "Missing argument 'NAME'"),
    case(["show", "dot-product", "--format", "pdf"], 2, "Invalid value for '--format'"),
    case(["show", "softmax", "--module", "dup.py"], 2, "'softmax' is already registered"),
    case(["show", "my-raises", "--module", "builders.py"], 2,
         f"builders.py, line {LINE['builders.py']}: ZeroDivisionError: division by zero"),
    case(["show", "my-none", "--module", "builders.py"], 2, "the builder of 'my-none'",
         "returned NoneType, not a Derivation"),
    case(["show", "dot-product", "--no-check"], 0, "dot product", env={"EXPLAINER_CACHE_DIR": "a_file/cache"}),
    case(["show", "dot-product"], 0, "warning: cannot use the check cache 'a_file/cache' (Not a directory)",
         "EXPLAINER_CACHE_DIR", env={"EXPLAINER_CACHE_DIR": "a_file/cache"}),
    case(["show", "dot-product", "--format", "json", "--no-check"], 0, '"name": "dot-product"'),
    # check
    case(["check"], 2, "name at least one derivation, or use --all"),
    case(["check", "aaa", "softmx"], 2, "unknown derivation 'aaa'",
         "unknown derivation 'softmx'; did you mean: softmax"),
    case(["check", "my-raises", "--module", "builders.py"], 2, "ZeroDivisionError: division by zero"),
    case(["check", "softmax", "--module", "dup.py"], 2, "already registered"),
    case(["check", "broken-sign", "--module", BROKEN], 1, "FAILED broken-sign step 2"),
    case(["check", "ok-sign", "--module", BROKEN, "--json"], 0, '"ok": true'),
    # size
    case(["size"], 2, "name a PRESET"),
    case(["size", "gpt2-smal"], 2, "did you mean: gpt2-small"),
    case(["size", "gpt2-small", "--layers", "2"], 2, "either a PRESET or --arch with sizes, not both"),
    case(["size", "--arch", "t5", "--layers", "1"], 2, "unknown architecture 't5'"),
    case([*SIZE, "--d-model", HUGE], 2, "--d-model must be at most 10^12, got a 200-digit number"),
    case([*SIZE[:-2], "--d-model", "8", "--context", HUGE], 2, "--context must be at most 10^12"),
    case([*SIZE, "--d-model", "8", "--layers", "0"], 2, "--layers must be a positive integer"),
    case([*SIZE, "--d-model", "abc"], 2, "'abc' is not a valid integer"),
    case(["size", "--arch", "gpt2", "--layers", "2", "--d-model", "64", "--heads", "5", "--vocab", "9",
          "--context", "8"], 2, "--heads 5 does not divide --d-model 64"),
    case([*SIZE, "--d-model", "2"], 0, "1 layer, d_model 2, 1 head, d_ff 8", "≈ 82\n", "3.3e-07",
         absent=["1 layers", "1 heads", "0.0M"]),
    case(["size", "--arch", "gpt2", "--layers", "10", "--d-model", "1000000", "--heads", "1",
          "--vocab", "1000000", "--context", "1000000"], 0, "122,000,132,000,000  100.0%  ≈ 122.00T"),
    case(["size", "--arch", "gpt2", "--layers", "1000000000000", "--d-model", "1000000000000", "--heads", "1",
          "--vocab", "1000000000000", "--context", "1000000000000"], 0, "≈ 1.20e+37", "4.800e+28"),
    case(["size", "llama3-8b", "--json"], 0, '"parameters": 8030261248'),
    # doctor
    case(["doctor"], 0, "component", "python", absent=[".venv/bin/pip"]),
    case(["doctor", "now"], 2, "Got unexpected extra argument (now)"),
    # tokenize
    case(["tokenize"], 2, "train", "encode"),
    case(["tokenize", "train", "-n", "0"], 2, "vocabulary size must be a positive integer"),
    case(["tokenize", "train", "-n", "5"], 2, "smaller than the starting vocabulary"),
    case(["tokenize", "train", "-a", "sentencepiece"], 2, "Invalid value for '--algorithm'"),
    case(["tokenize", "train", "--corpus", "missing.txt"], 2, "corpus file not found: missing.txt"),
    case(["tokenize", "train", "--corpus", "a_folder"], 2, "corpus path is not a file: a_folder"),
    case(["tokenize", "train", "--corpus", "binary.bin"], 2, "looks binary"),
    case(["tokenize", "train", "--corpus", "latin1.txt"], 2, "is not UTF-8 text (invalid byte at offset 3)"),
    case(["tokenize", "train", "--corpus", "empty.txt"], 2, "is empty: there is nothing to learn from"),
    case(["tokenize", "train", "--corpus", "-", "-n", "20"], 0, "bpe on standard input: 5 words",
         stdin="low lower lowest\nnewer wider\n"),
    case(["tokenize", "train", "--corpus", "-"], 2, "standard input is empty", stdin=""),
    case(["tokenize", "train", "--corpus", "invisible.txt", "-n", "40"], 0, "<U+0009>", "<U+00A0>", "<U+0301>",
         "<U+FE0F>", absent=["\t", "\u00a0", "\u0301", "\ufe0f"]),
    case(["tokenize", "train", "--limit", "3"], 0, "more merges (--limit 3 shows the first 3)"),
    case(["tokenize", "train", "--limit", "-1"], 2, "Invalid value for '--limit'"),
    case(["tokenize", "train", "-a", "wordpiece", "--corpus", "hashes.txt", "-n", "40"], 0,
         "wordpiece on hashes.txt"),
    case(["tokenize", "train", "--save", "a_folder"], 2, "cannot write vocabulary file a_folder"),
    case(["tokenize", "train", "--save", "a_file/vocab.json"], 2, "cannot write vocabulary file a_file/vocab.json"),
    case(["tokenize", "encode", "low", "--vocab", "missing.json"], 2, "vocabulary file not found: missing.json"),
    case(["tokenize", "encode", "low", "--vocab", "notjson.json"], 2, "is not a vocabulary file (not UTF-8 JSON"),
    case(["tokenize", "encode", "low", "--vocab", "plain.txt"], 2, "plain.txt is not a vocabulary file"),
    case(["tokenize", "encode", "low", "--vocab", "damaged.json"], 2, "damaged.json is a damaged vocabulary file",
         "which is not in the vocabulary"),
    case(["tokenize", "encode", "low", "--vocab", "bpe.json", "--corpus", "plain.txt"], 2,
         "so --corpus would be ignored"),
    case(["tokenize", "encode", "low", "--vocab", "bpe.json", "-n", "50", "-p", "whitespace"], 2,
         "so --vocab-size, --pre-tokenizer would be ignored"),
    case(["tokenize", "encode", "low", "--vocab", "wp.json", "-a", "bpe"], 2, "holds a wordpiece vocabulary, not bpe"),
    case(["tokenize", "encode", "low", "--vocab", "bpe.json"], 0, "tokens:"),
    case(["tokenize", "encode", "snow ☃"], 2, "'☃'", "not in the vocabulary"),
    case(["tokenize", "encode"], 2, "Missing argument 'TEXT'"),
    # verify (bad options are refused before torch is imported)
    case(["verify"], 2, "name at least one derivation, or use --all"),
    case(["verify", "softmax", "--seed", str(2**64)], 2, "is not in the range 0<=x<=4294967295"),
    case(["verify", "softmax", "--seed", "-1"], 2, "is not in the range 0<=x<=4294967295"),
    case(["verify", "softmax", "--device", "tpu"], 2, "Invalid value for '--device'"),
    case(["verify", "softmax", "--dtype", "int8"], 2, "Invalid value for '--dtype'"),
    # scenes and render: everything that is refused before a frame is drawn
    case(["scenes", "extra"], 2, "Got unexpected extra argument (extra)"),
    case(["scenes"], 0, "dot-product-alignment", "derivation:NAME"),
    case(["render"], 2, "name at least one scene"),
    case(["render", "nosuch-scene"], 2, "unknown scene 'nosuch-scene'"),
    case(["render", "derivation:nosuch"], 2, "unknown derivation 'nosuch'"),
    case(["render", "dot-product-alignment", "--quality", "ultra"], 2, "Invalid value for '--quality'"),
    case(["render", "dot-product-alignment", "--format", "avi"], 2, "Invalid value for '--format'"),
]

NEEDS_TOOLS = [
    case(["render", "dot-product-alignment", "--output", "a_file/media"], 2,
         "cannot write to output folder 'a_file/media'"),
    case(["render", "dot-product-alignment", "--output", "blocked"], 2,
         "cannot write 'blocked/dot-product-alignment.mp4': a folder of that name is in the way"),
    case(["render", "dot-product-alignment", "--output", "media"], 2,
         "cannot use the render cache 'a_file/cache/manim' (Not a directory)", "EXPLAINER_CACHE_DIR=off",
         env={"EXPLAINER_CACHE_DIR": "a_file/cache"}),
    case(["render", "dot-product-alignment", "--output", "media"], 2,
         "cannot use the render cache", "a_file/.cache/transformer-math-explainer/manim",
         env={"EXPLAINER_CACHE_DIR": None, "XDG_CACHE_HOME": None, "HOME": "a_file"}),
]

NEEDS_TORCH = [
    case(["verify", "nosuch"], 2, "unknown derivation 'nosuch'"),
    case(["verify", "my-num", "--module", "numcheck.py", "--device", "cpu"], 2,
         f"numcheck.py, line {LINE['numcheck.py']}: ValueError: bad tensor shape"),
]


def _invoke(args, code, fragments, env, stdin, absent):
    result = CliRunner().invoke(cli, args, env=env, input=stdin)
    assert result.exit_code == code, result.output
    for fragment in fragments:
        assert fragment in result.output, result.output
    for fragment in absent:
        assert fragment not in result.output, result.output
    assert "Traceback" not in result.output and "This is a bug" not in result.output


@pytest.mark.parametrize("args, code, fragments, env, stdin, absent", CATALOGUE)
def test_catalogue(isolated, args, code, fragments, env, stdin, absent):
    _invoke(args, code, fragments, env, stdin, absent)


@pytest.mark.skipif(no_tools(), reason="manim, LaTeX or dvisvgm is not installed")
@pytest.mark.parametrize("args, code, fragments, env, stdin, absent", NEEDS_TOOLS)
def test_catalogue_render_refusals(isolated, args, code, fragments, env, stdin, absent):
    _invoke(args, code, fragments, env, stdin, absent)


@pytest.mark.skipif(torch_missing(), reason="torch is not installed")
@pytest.mark.parametrize("args, code, fragments, env, stdin, absent", NEEDS_TORCH)
def test_catalogue_verify(isolated, args, code, fragments, env, stdin, absent):
    _invoke(args, code, fragments, env, stdin, absent)


def test_an_internal_error_is_exit_3_and_debug_shows_its_traceback(isolated, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a genuine bug")

    monkeypatch.setattr(registry, "entries", broken)
    plain = CliRunner().invoke(cli, ["list"])
    assert plain.exit_code == 3 and "internal error: RuntimeError: a genuine bug" in plain.output
    assert "EXPLAINER_DEBUG=1" in plain.output and "Traceback" not in plain.output
    debug = CliRunner().invoke(cli, ["list"], env={"EXPLAINER_DEBUG": "1"})
    assert debug.exit_code == 3 and "Traceback" in debug.output and "a genuine bug" in debug.output


# --- the process itself: python -m explainer -----------------------------------------------------------

def explainer(*args: str, cwd=None, env=None, **options) -> subprocess.Popen:
    environment = {**os.environ, **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "explainer", *args], cwd=cwd, env=environment,
                            stdout=options.pop("stdout", subprocess.PIPE), stderr=subprocess.PIPE, **options)


@pytest.mark.parametrize("args", [["list"], ["scenes"], ["show", "dot-product", "--format", "json", "--no-check"],
                                  ["tokenize", "train"], ["size", "gpt2-small"], ["doctor"]])
def test_a_closed_pipe_ends_the_command_quietly_with_141(args):
    reader, writer = os.pipe()
    os.close(reader)  # nobody will read: the first write fails, as after 'explainer list | head -0'
    process = explainer(*args, stdout=writer)
    os.close(writer)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 141, err
    assert err == b""


@pytest.mark.parametrize("args", [["check", "--all"], ["verify", "--all", "--device", "cpu"],
                                  ["render", "softmax-scaling", "--format", "png", "--no-cache"]])
def test_ctrl_c_exits_130(args, tmp_path):
    if args[0] == "render" and no_tools() or args[0] == "verify" and torch_missing():
        pytest.skip("needs the render tools / torch")
    # Ctrl-C reaches the command as it does at a terminal, even when these tests run as a background
    # job (a shell starts those with SIGINT ignored, and a child inherits that)
    process = explainer(*args, cwd=tmp_path, env={"EXPLAINER_CACHE_DIR": "off", "TMPDIR": str(tmp_path)},
                        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(2.5)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    # 130; or killed by SIGINT itself, which a shell reports as 130 too (CPython 3.11 does that when the
    # signal lands while an extension runs Python code through PyRun_String, e.g. pybind11's exec)
    assert process.returncode in (130, -signal.SIGINT), err.decode()
    assert b"interrupted" in err.lower() and b"Traceback" not in err
    assert not list(tmp_path.glob("explainer-manim-*"))  # a render's private folder is removed even then


@pytest.mark.slow
@pytest.mark.skipif(no_tools(), reason="manim, LaTeX or dvisvgm is not installed")
@pytest.mark.parametrize("cache", ["shared", "off"])
def test_two_renders_at_once_both_succeed_and_leave_no_temporary_folder(tmp_path, cache):
    """The same scene to the same output at the same time: with a shared cache the second waits for the
    first (Manim's LaTeX and movie files are not written atomically); without one each has its own."""
    env = {"EXPLAINER_CACHE_DIR": str(tmp_path / "cache") if cache == "shared" else "off", "TMPDIR": str(tmp_path)}
    args = ["render", "softmax-scaling", "--format", "png", "--output", str(tmp_path / "out")]
    runs = [explainer(*args, env=env) for _ in range(2)]
    for run in runs:
        _, err = run.communicate(timeout=600)
        assert run.returncode == 0, err.decode()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["softmax-scaling.png"]
    assert not list(tmp_path.glob("explainer-manim-*"))


def test_a_full_disk_is_exit_2():
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        process = explainer("show", "dot-product", "--no-check", stdout=full)
        _, err = process.communicate(timeout=120)
    assert process.returncode == 2 and b"No space left on device" in err and b"Traceback" not in err


def test_text_the_output_encoding_cannot_print_is_exit_2():
    process = explainer("show", "softmax", "--format", "unicode", "--no-check", env={"PYTHONIOENCODING": "latin-1"})
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2 and b"the output encoding latin-1 cannot print" in err
    assert b"PYTHONIOENCODING=utf-8" in err


def test_a_dotted_name_only_importable_from_here_gets_the_py_hint(folder):
    """The installed ``explainer`` script does not import from the current folder (``-P`` does the same)."""
    (folder / "mymodule.py").write_text("")
    run = subprocess.run([sys.executable, "-P", "-c", "from explainer.cli import main; main()", "list",
                          "--module", "mymodule"], cwd=folder, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "pass its path (--module mymodule.py)" in run.stderr


def test_the_current_folders_own_scenes_and_derivations_are_never_imported(tmp_path):
    for package in ("scenes", "derivations"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("raise SystemExit('USER CODE RAN')\n")
    for args, code, expected in ((["list"], 0, "softmax"), (["scenes"], 0, "dot-product-alignment"),
                                 (["render", "nosuch"], 2, "unknown scene 'nosuch'")):
        process = explainer(*args, cwd=tmp_path)
        out, err = process.communicate(timeout=120)
        assert b"USER CODE RAN" not in out + err
        assert process.returncode == code and expected.encode() in out + err


def test_a_hand_edited_cache_entry_is_recomputed(isolated, tmp_path):
    from explainer import cache

    d = registry.build("dot-product")
    env = {"EXPLAINER_CACHE_DIR": str(tmp_path)}
    first = CliRunner().invoke(cli, ["show", "dot-product"], env=env)
    entry = Path(tmp_path) / f"{cache.key(d)}.json"
    data = json.loads(entry.read_text())
    entry.write_text(json.dumps({**data, "results": data["results"][:3]}))  # truncated by hand
    second = CliRunner().invoke(cli, ["show", "dot-product"], env=env)
    assert first.exit_code == second.exit_code and "earlier identical check" not in second.output
    statuses = [out.splitlines()[-1].split(" (")[0] for out in (first.output, second.output)]  # without seconds
    assert statuses[0] == statuses[1] and statuses[0].startswith("Check: ")


@pytest.mark.skipif(no_tools() or shutil.which("sh") is None, reason="manim, LaTeX or dvisvgm is not installed")
def test_a_broken_latex_is_exit_2_with_its_error_line(tmp_path):
    """A ``latex`` that fails (as a damaged TeX install does) and writes its log: the render stops at the
    first formula with the log's error line and a pointer to 'explainer doctor'."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "latex").write_text(
        "#!/bin/sh\ndir=.\nfor a in \"$@\"; do case \"$a\" in -output-directory=*) dir=\"${a#*=}\";; *.tex) f=\"$a\";; "
        "esac; done\nprintf '! LaTeX Error: File `standalone.cls'\"'\"' not found.\\nl.1\\n' "
        "> \"$dir/$(basename \"$f\" .tex).log\"\n"
        "exit 1\n")
    (bin_dir / "latex").chmod(0o755)
    process = explainer("render", "softmax-scaling", "--format", "png", "--output", str(tmp_path / "out"),
                        env={"PATH": f"{bin_dir}:{os.environ['PATH']}", "EXPLAINER_CACHE_DIR": str(tmp_path / "c")})
    _, err = process.communicate(timeout=300)
    assert process.returncode == 2, err.decode()
    assert b"LaTeX failed while rendering a formula: ! LaTeX Error: File `standalone.cls' not found." in err
    assert b"explainer doctor" in err and not (tmp_path / "out" / "softmax-scaling.png").exists()


def test_doctors_install_hints_work_from_any_folder():
    from explainer.doctor import PIP

    assert PIP.startswith(sys.executable) and PIP.endswith(" -m pip install")


def test_the_catalogue_covers_every_command():
    from explainer.cli import COMMANDS

    rows = CATALOGUE + NEEDS_TOOLS + NEEDS_TORCH
    assert len(rows) >= 80
    covered = {row.values[0][0] for row in rows if row.values[0]}
    assert set(COMMANDS) <= covered
