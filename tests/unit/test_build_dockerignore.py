""".dockerignore reading and Docker's pattern matching (baleine.rules.dockerignore)."""

from __future__ import annotations

import pytest

from baleine.rules.dockerignore import PatternMatcher, clean, matches, read_patterns


def test_read_patterns() -> None:
    text = "\ufeff# comment\n\n  *.pyc  \n!keep.pyc\n/abs/path\n./rel/../x\n! spaced\n#not a pattern\n  # also\n"
    assert read_patterns(text) == ["*.pyc", "!keep.pyc", "abs/path", "x", "!spaced", "# also"]


def test_clean() -> None:
    assert clean("a//b/./c/..") == "a/b"
    assert clean("/../a") == "/a"
    assert clean("../a") == "../a"
    assert clean("") == "."
    assert clean("a/") == "a"


CASES = [
    # (patterns, path, excluded)
    (["*.pyc"], "x.pyc", True),
    (["*.pyc"], "d/x.pyc", False),          # * does not cross /
    (["**/*.pyc"], "d/e/x.pyc", True),
    (["**/*.pyc"], "x.pyc", True),           # ** matches zero directories
    (["*.pyc", "!keep.pyc"], "keep.pyc", False),
    (["*.pyc", "!keep.pyc"], "other.pyc", True),
    (["!keep.pyc", "*.pyc"], "keep.pyc", True),  # the last match wins
    (["docs"], "docs/a/b.md", True),          # a parent directory matches
    (["docs/**"], "docs/a/b.md", True),
    (["docs/**"], "docs", False),
    (["docs", "!docs/keep.md"], "docs/keep.md", False),
    (["docs", "!docs/keep.md"], "docs/other.md", True),
    (["a?c"], "abc", True),
    (["a?c"], "abbc", False),
    (["a?c"], "a/c", False),
    (["[a-c]x"], "bx", True),
    (["[a-c]x"], "dx", False),
    (["[^a-c]x"], "dx", True),
    (["\\*x"], "*x", False),     # moby quirk: without a real wildcard the pattern is compared as is
    (["\\*x*"], "*xy", True),
    (["\\*x*"], "axy", False),
    (["**"], "anything/at/all", True),
    (["**/node_modules"], "a/b/node_modules/x/y", True),
    (["**/node_modules"], "node_modules", True),
    (["node_modules"], "a/node_modules", False),
    (["*/x"], "a/x", True),
    (["*/x"], "a/b/x", False),
    (["a/**/b"], "a/b", True),
    (["a/**/b"], "a/x/y/b", True),
    (["a/**/b"], "a/x/y/c", False),
    (["*.md", "!README.md"], "README.md", False),
    (["*.md", "!README.md"], "sub/README.md", False),   # *.md does not match sub/README.md
    (["file.txt"], "file.txt", True),
    (["file.txt"], "file.txt.bak", False),
    (["file.*"], "file.txt.bak", True),
    ([".git"], ".git/HEAD", True),
    (["Dockerfile*"], "Dockerfile.dev", True),
    (["a(b)"], "a(b)", True),
    (["a+b"], "a+b", True),
    (["a.b"], "axb", False),
    (["$x"], "$x", True),
]


@pytest.mark.parametrize("patterns,path,excluded", CASES)
def test_matches(patterns: list[str], path: str, excluded: bool) -> None:
    assert matches(path, patterns) is excluded


def test_exclusions_flag() -> None:
    assert PatternMatcher(["a", "!b"]).exclusions
    assert not PatternMatcher(["a"]).exclusions


def test_illegal_exclusion() -> None:
    with pytest.raises(ValueError, match="illegal exclusion pattern"):
        PatternMatcher(["!"])
