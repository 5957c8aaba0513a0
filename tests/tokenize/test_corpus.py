"""Reading corpus files: clear errors for missing, binary, non-UTF-8 and empty files."""
from __future__ import annotations

import pytest

from explainer.errors import UsageError
from explainer.tokenize.corpus import as_lines, builtin_lines, read_corpus


def test_builtin_corpus_is_plain_text_lines():
    lines = builtin_lines()
    assert 30 <= len(lines) <= 100 and all(line.strip() for line in lines)


def test_reads_utf8_lines_and_drops_a_bom(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes("\ufeffcafé\r\nnaïve\n".encode())
    assert read_corpus(path) == ["café", "naïve"]


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"), (b"  \n\t\n", "is empty"), (b"abc\x00def", "looks binary"),
    (b"caf\xe9", "not UTF-8 text \\(invalid byte at offset 3\\)")])
def test_bad_files(tmp_path, content, message):
    path = tmp_path / "c.txt"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=message):
        read_corpus(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        read_corpus(tmp_path / "nope.txt")
    with pytest.raises(UsageError, match="not a file"):
        read_corpus(tmp_path)
    with pytest.raises(UsageError, match="empty"):
        as_lines("\n \n")
