"""Edge cases of the tokenizer package (issue 13): its import layers, corpora that spell the ``##``
prefix, incomplete inputs, and how the merge table prints what cannot be seen."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from explainer.cli.tokenize import visible, width
from explainer.errors import UsageError
from explainer.tokenize import bpe, corpus, wordpiece
from explainer.tokenize.tokenizer import Tokenizer

PACKAGE = Path(wordpiece.__file__).parent


def _imports(path: Path) -> set[str]:
    """Modules of ``explainer.tokenize`` that ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "explainer.tokenize":
                found |= {f"explainer.tokenize.{a.name}" for a in node.names}
            elif node.module.startswith("explainer.tokenize."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("explainer.tokenize.")}
    return found


def test_the_package_has_no_import_cycle():
    graph = {f"explainer.tokenize.{p.stem}": _imports(p) for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert graph["explainer.tokenize.segment"] == set() and graph["explainer.tokenize.pretokenize"] == set()
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join(path + (module,))}"
        if module not in done:
            for imported in graph.get(module, ()):
                visit(imported, path + (module,))
            done.add(module)

    for module in graph:
        visit(module, ())


def _recount(trace, k: int) -> int:
    """How often merge ``k``'s pair stands side by side after the first ``k`` merges (weighted, overlapping)."""
    merge, total = trace.merges[k], 0
    for word, n in trace.word_counts:
        pieces = trace.splits(word)[k]  # whitespace pre-tokenizer: a training word is its own word
        total += n * sum(p == (merge.left, merge.right) for p in zip(pieces, pieces[1:]))
    return total


@pytest.mark.parametrize("lines", [["# ## ### #### #####"], ["##### ####", "###"], ["## Notes", "C# and F# ##x"]])
@pytest.mark.parametrize("score", ["likelihood", "count"])
def test_a_corpus_that_spells_the_prefix_learns_each_merge_once_with_its_true_count(lines, score):
    trace = wordpiece.train(lines, 40, score=score)
    pairs = [(m.left, m.right) for m in trace.merges]
    assert len(pairs) == len(set(pairs)) and len(set(trace.vocab)) == len(trace.vocab)
    assert [m.count for m in trace.merges] == [_recount(trace, k) for k in range(len(trace.merges))]
    tok = trace.tokenizer()
    for line in lines:
        assert all(t in tok.ids for t in tok.encode(line, unknown="unk").tokens)


def test_continuation_order_that_misses_characters_is_a_usage_error():
    with pytest.raises(UsageError, match=r"continuation_order lacks 2 character\(s\).*'o'"):
        wordpiece.train(["low lot"], 30, continuation_order=["w"])


def test_a_vocabulary_file_whose_merge_makes_a_missing_token_is_refused(tmp_path):
    path = tmp_path / "vocab.json"
    bpe.train(corpus.builtin_lines(), 120).tokenizer().save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    merged = data["vocab"].pop()  # the last merge's token
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(UsageError, match=f"merge {len(data['merges'])} .*{merged!r}, which is not in the vocabulary"):
        Tokenizer.load(path)


@pytest.mark.parametrize("token, shown, columns", [
    ("a\tb", "a<U+0009>b", 10), ("c\u00a0d", "c<U+00A0>d", 10), ("e\u0301", "e<U+0301>", 9),
    ("\u2764\ufe0f", "\u2764<U+FE0F>", 9), ("日本", "日本", 4), ("abc", "abc", 3),
])
def test_tokens_print_invisible_characters_escaped_and_wide_ones_two_columns(token, shown, columns):
    assert visible(token) == shown and width(visible(token)) == columns
