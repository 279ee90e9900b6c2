""".dockerignore files and Docker's path patterns (moby/patternmatcher).

``read_patterns`` reads a .dockerignore as Docker's CLI does: ``#`` comments,
blank lines skipped, surrounding spaces trimmed, each pattern cleaned like Go's
``filepath.Clean`` with a leading ``/`` removed, ``!`` marking an exception.
``PatternMatcher.matches`` applies them: the last pattern matching a path, or
any of its parent directories, decides; ``*`` and ``?`` do not cross ``/``,
``**`` matches any number of directories (including none), ``[...]`` is a
character class and ``\\`` escapes.

Pure: no I/O beyond the text given.
"""

from __future__ import annotations

import posixpath
import re

_EXACT, _PREFIX, _SUFFIX, _REGEXP = range(4)


def clean(path: str) -> str:
    """Go's ``path.Clean`` (``posixpath.normpath`` differs on a leading ``//``)."""
    if not path:
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for comp in path.split("/"):
        if comp in ("", "."):
            continue
        if comp == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(comp)
    out = "/".join(parts)
    if rooted:
        return "/" + out
    return out or "."


def read_patterns(text: str) -> list[str]:
    """The patterns of a .dockerignore file (dockerignore.ReadAll)."""
    out: list[str] = []
    for i, line in enumerate(text.split("\n")):
        if i == 0 and line.startswith("\ufeff"):
            line = line[1:]
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        out.append("!" + pattern if invert else pattern)
    return out


_REGEX_SPECIAL = set(".+()|{}$")


class Pattern:
    """One compiled pattern. (A plain class: the CLI imports this module and
    dataclasses cost start-up time.)"""

    __slots__ = ("cleaned", "exclusion", "kind", "regex")

    def __init__(self, cleaned: str, exclusion: bool) -> None:
        self.cleaned = cleaned
        self.exclusion = exclusion
        self.kind = _EXACT
        self.regex: re.Pattern[str] | None = None

    @classmethod
    def compile(cls, text: str) -> "Pattern":
        exclusion = text.startswith("!")
        if exclusion:
            text = text[1:]
            if not text:
                raise ValueError('illegal exclusion pattern: "!"')
        cleaned = clean(text)
        p = cls(cleaned, exclusion)
        p._compile()
        return p

    def _compile(self) -> None:
        pattern = self.cleaned
        out = ["^"]
        kind = _EXACT
        i, n = 0, len(pattern)
        idx = 0
        while i < n:
            ch = pattern[i]
            i += 1
            if ch == "*":
                if i < n and pattern[i] == "*":
                    i += 1
                    if i < n and pattern[i] == "/":
                        i += 1  # "**/" is "**"
                    if i >= n:
                        # "**" at the end matches everything below, like .gitignore
                        if kind == _EXACT:
                            kind = _PREFIX
                        else:
                            out.append(".*")
                            kind = _REGEXP
                    else:
                        out.append("(.*/)?")
                        kind = _REGEXP
                    if idx == 0:
                        kind = _SUFFIX
                else:
                    out.append("[^/]*")
                    kind = _REGEXP
            elif ch == "?":
                out.append("[^/]")
                kind = _REGEXP
            elif ch in _REGEX_SPECIAL:
                out.append("\\" + ch)
            elif ch == "\\":
                if i < n:
                    out.append("\\" + pattern[i])
                    i += 1
                else:
                    out.append("\\\\")
            elif ch in "[]":
                out.append(ch)
                kind = _REGEXP
            else:
                out.append(ch)
            idx += 1
        self.kind = kind
        if kind != _REGEXP:
            return
        out.append("$")
        try:
            self.regex = re.compile("".join(out))
        except re.error as exc:
            raise ValueError(f"syntax error in pattern: {self.cleaned}: {exc}") from None

    def match(self, path: str) -> bool:
        if self.kind == _EXACT:
            return path == self.cleaned
        if self.kind == _PREFIX:
            return path.startswith(self.cleaned[:-2])
        if self.kind == _SUFFIX:
            suffix = self.cleaned[2:]
            if path.endswith(suffix):
                return True
            return bool(suffix) and suffix[0] == "/" and path == suffix[1:]
        assert self.regex is not None
        return self.regex.match(path) is not None


class PatternMatcher:
    """A list of patterns; see :meth:`matches`."""

    def __init__(self, patterns: list[str]) -> None:
        self.patterns = [Pattern.compile(p) for p in patterns if p]

    @property
    def exclusions(self) -> bool:
        """Whether any pattern re-includes paths (``!pattern``)."""
        return any(p.exclusion for p in self.patterns)

    def matches(self, path: str) -> bool:
        """Whether ``path`` (relative, "/"-separated) is excluded by the patterns.

        The last pattern that matches the path or one of its parent directories
        decides (MatchesOrParentMatches).
        """
        path = clean(path)
        matched = False
        parent = posixpath.dirname(path) or "."
        parent_dirs = parent.split("/") if parent != "." else []
        for p in self.patterns:
            # An exception only matters once matched, an exclusion only before.
            if p.exclusion != matched:
                continue
            hit = p.match(path)
            if not hit and parent_dirs:
                for i in range(len(parent_dirs)):
                    if p.match("/".join(parent_dirs[:i + 1])):
                        hit = True
                        break
            if hit:
                matched = not p.exclusion
        return matched


def matches(path: str, patterns: list[str]) -> bool:
    """Convenience: whether ``path`` is excluded by ``patterns``."""
    return PatternMatcher(patterns).matches(path)


__all__ = ["Pattern", "PatternMatcher", "clean", "matches", "read_patterns"]
