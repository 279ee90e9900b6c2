"""Dockerfile text → instruction nodes, with Docker's parsing rules.

A port of moby/buildkit's ``frontend/dockerfile/parser`` (which the classic
builder shares): parser directives (``# syntax=``, ``# escape=``) at the top of
the file; comments; line continuations with the escape character, skipping
comment and empty lines inside a continuation (with Docker's warning for the
latter); a continuation at the end of the file simply ends the instruction;
heredocs (``<<EOF``, ``<< EOF``, ``<<-EOF`` stripping leading tabs, quoted
delimiters meaning "no expansion", several per line) for RUN, COPY and ADD;
per-instruction argument forms: JSON (exec) form when the whole rest of the line
is a JSON array of strings as Go's ``json.Unmarshal`` reads it, else the shell
form; whitespace-separated words, ``key=value`` pairs (ENV, LABEL, with the
legacy ``key value`` form), and ``--flag=value`` flags before the arguments
(quotes and the Dockerfile's escape character processed). Keywords are
case-insensitive.

Pure: :func:`parse` is a function from text to a :class:`Dockerfile`; errors are
:class:`DockerfileError` naming the file, the line and the problem.
Typed instructions and stages are built from the nodes by ``instructions.py``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

from ..rules.errors import InvalidParameter
from .shell import Lex, ShellError


class DockerfileError(InvalidParameter):
    """A Dockerfile cannot be used: ``str()`` is ``FILE:LINE: problem``.

    ``line`` is 1-based (0 when the problem concerns the whole file).
    """

    def __init__(self, message: str, filename: str = "Dockerfile", line: int = 0, end_line: int = 0) -> None:
        self.message = message
        self.filename = filename
        self.line = line
        self.end_line = end_line or line
        where = f"{filename}:{line}" if line else filename
        super().__init__(f"{where}: {message}")


@dataclass
class Heredoc:
    """One here-document: ``<<[-]NAME`` and the lines up to ``NAME``.

    ``content`` keeps its line endings; ``expand`` is False when the delimiter
    was quoted (no variable expansion); ``chomp`` is the ``<<-`` form (leading
    tabs are stripped from the content when used).
    """

    name: str
    content: str = ""
    expand: bool = True
    chomp: bool = False
    fd: int = 0

    def text(self) -> str:
        """The content, with leading tabs removed for ``<<-``."""
        return chomp_heredoc(self.content) if self.chomp else self.content


@dataclass
class Node:
    """One instruction as written.

    ``keyword`` is upper-case; ``args`` are the arguments as the instruction's
    argument form split them (quotes still in place for ENV/LABEL/ARG values,
    which expansion removes); ``json`` marks the exec form; ``flags`` are the
    ``--name=value`` words before the arguments; ``sub`` is ONBUILD's inner
    instruction. Lines are 1-based and inclusive (heredoc bodies included).
    """

    keyword: str
    args: list[str]
    original: str
    flags: list[str] = field(default_factory=list)
    json: bool = False
    start_line: int = 0
    end_line: int = 0
    heredocs: list[Heredoc] = field(default_factory=list)
    sub: "Node | None" = None
    comments: list[str] = field(default_factory=list)


@dataclass
class Dockerfile:
    """A parsed Dockerfile: its nodes, escape character, directives and warnings."""

    nodes: list[Node]
    escape: str = "\\"
    directives: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    filename: str = "Dockerfile"


_WHITESPACE = re.compile(r"[\t\v\f\r ]+")
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
# reHeredoc, `^(\d*)<<(-?)\s*([^<]*)$`, with Go's meanings: \d is ASCII, \s is
# [\t\n\f\r ] and $ is the end of the text (Python's $ also matches before "\n").
_HEREDOC = re.compile(r"^([0-9]*)<<(-?)[\t\n\f\r ]*([^<]*)\Z")
_LEADING_TABS = re.compile(r"^\t+", re.MULTILINE)
_VALID_DIRECTIVES = ("escape", "syntax", "check")
_HEREDOC_KEYWORDS = ("ADD", "COPY", "RUN")
_UTF8_BOM = "\ufeff"

#: Every instruction Docker knows (others are "unknown instruction").
KEYWORDS = ("ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
            "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR")


class _Directives:
    """Parser directives seen so far; they are only read before anything else."""

    def __init__(self) -> None:
        self.escape = "\\"
        self.done = False
        self.seen: dict[str, str] = {}
        self._set_escape("\\")

    def _set_escape(self, token: str) -> None:
        if token not in ("`", "\\"):
            raise ValueError(f"invalid escape token '{token}' does not match ` or \\")
        self.escape = token
        e = re.escape(token)
        # The escape character ends a line as a continuation unless it is itself
        # escaped ("foo \\" is not a continuation... except in Go's regexp, which
        # cannot look behind: like Docker, only the preceding character is checked).
        self.continuation = re.compile(rf"([^{e}]){e}[ \t]*$|^{e}[ \t]*$")

    def possible(self, line: str) -> None:
        if self.done:
            return
        m = _DIRECTIVE.match(line)
        if m is None:
            self.done = True
            return
        key = m.group(1).lower()
        if key not in _VALID_DIRECTIVES:
            self.done = True
            return
        if key in self.seen:
            raise ValueError(f"only one {key} parser directive can be used")
        self.seen[key] = m.group(2)
        if key == "escape":
            self._set_escape(m.group(2))


def _is_space(ch: str) -> bool:
    return ch.isspace() or ch == "\x85"


def _lstrip(s: str) -> str:
    i = 0
    while i < len(s) and _is_space(s[i]):
        i += 1
    return s[i:]


def _trim_newline(s: str) -> str:
    return s.rstrip("\r\n")


def _is_comment(line: str) -> bool:
    return _lstrip(_trim_newline(line)).startswith("#")


def _trim_comment(line: str) -> str:
    # Go: regexp `^#.*$` replaced by "" — only when the whole line is a comment.
    if line.startswith("#") and "\n" not in line:
        return ""
    return line


def _trim_continuation(line: str, d: _Directives) -> tuple[str, bool]:
    """(line without its trailing continuation, whether the line is complete)."""
    if d.continuation.search(line):
        return d.continuation.sub(lambda m: m.group(1) or "", line, count=1), False
    return line, True


def split_lines(text: str) -> list[str]:
    """Lines with their endings kept; only "\\n" ends a line (buildkit's scanLines)."""
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def parse(text: str | bytes, filename: str = "Dockerfile") -> Dockerfile:
    """Parse Dockerfile text into nodes.

    Raises DockerfileError for: an invalid or repeated directive, a malformed
    flag, a JSON array of non-strings, an unterminated heredoc, or a file
    without instructions. A line continuation on the last line (possibly
    followed by blank or comment lines only) ends its instruction, as in
    BuildKit, whose scanner loop just stops.
    Unknown instructions are kept (``instructions.py`` rejects them with their
    line number).
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    d = _Directives()
    lines = split_lines(text)
    n = len(lines)
    i = 0
    current = 0
    nodes: list[Node] = []
    warnings: list[str] = []
    comments: list[str] = []

    def fail(message: str, start: int, end: int = 0) -> DockerfileError:
        return DockerfileError(message, filename, start, end)

    while i < n:
        raw = lines[i]
        i += 1
        if current == 0 and raw.startswith(_UTF8_BOM):
            raw = raw[1:]
        if _is_comment(raw):
            comments.append(_trim_newline(raw).strip()[1:].strip())
        token = _lstrip(_trim_newline(raw))
        try:
            d.possible(token)
        except ValueError as exc:
            raise fail(str(exc), current + 1) from None
        current += 1
        start = current
        line, complete = _trim_continuation(_trim_comment(token), d)
        if complete and line == "":
            continue
        empty_continuation = False
        while not complete and i < n:
            raw = lines[i]
            i += 1
            token = _trim_newline(raw)
            try:
                d.possible(token)
            except ValueError as exc:
                raise fail(str(exc), current + 1) from None
            current += 1
            if _is_comment(raw):
                continue  # comments inside a continuation are dropped
            processed = _trim_comment(token)
            if not _lstrip(processed):
                empty_continuation = True
                continue
            cont, complete = _trim_continuation(processed, d)
            line += cont
        if empty_continuation:
            warnings.append("[WARNING]: Empty continuation line found in:\n    " + line)
        try:
            node = _node_from_line(line, d)
        except ValueError as exc:
            raise fail(str(exc), start, current) from None
        node.comments = comments
        comments = []
        target = node.sub if node.keyword == "ONBUILD" and node.sub is not None else node
        if target.keyword in _HEREDOC_KEYWORDS and not target.json:
            try:
                docs = heredocs_from_line(line)
            except ValueError as exc:
                raise fail(str(exc), start, current) from None
            for doc in docs:
                terminated = False
                content: list[str] = []
                while i < n:
                    raw = lines[i]
                    i += 1
                    current += 1
                    candidate = _trim_newline(raw)
                    if doc.chomp:
                        candidate = candidate.lstrip("\t")
                    if candidate == doc.name:
                        terminated = True
                        break
                    content.append(raw)
                if not terminated:
                    raise fail(f"unterminated heredoc: no line '{doc.name}' ends the here-document opened "
                               f"with <<{'-' if doc.chomp else ''}{doc.name}", start, current)
                doc.content = "".join(content)
                target.heredocs.append(doc)
            if target is not node:
                node.heredocs = target.heredocs
        node.start_line, node.end_line = start, current
        if node.sub is not None:
            node.sub.start_line, node.sub.end_line = start, current
        nodes.append(node)
    if warnings:
        warnings.append("[WARNING]: Empty continuation lines will become errors in a future release.")
    if not nodes:
        raise DockerfileError("file with no instructions", filename, current or 1)
    return Dockerfile(nodes, d.escape, dict(d.seen), warnings, filename)


def _node_from_line(line: str, d: _Directives) -> Node:
    keyword, flags, rest = split_command(line, d.escape)
    upper = keyword.upper()
    parser = _DISPATCH.get(upper, _parse_ignore)
    args, is_json, sub = parser(rest, d)
    return Node(upper, args, line, flags, is_json, sub=sub)


def split_command(line: str, escape: str = "\\") -> tuple[str, list[str], str]:
    """(keyword, flags, rest of the line) of a logical line.

    ``escape`` is the Dockerfile's escape character (``# escape=``): flags are
    unescaped with it, as BuildKit's splitCommand does.
    """
    parts = _WHITESPACE.split(line.strip(), maxsplit=1)
    keyword = parts[0]
    flags: list[str] = []
    rest = ""
    if len(parts) == 2:
        rest, flags = extract_flags(parts[1], escape)
    return keyword, flags, rest.strip()


def extract_flags(line: str, escape: str = "\\") -> tuple[str, list[str]]:
    """Leading ``--name[=value]`` words and the rest of the line (extractBuilderFlags).

    Quotes are removed; the escape character (backslash, or backtick under
    ``# escape=```) escapes the next character, in and out of quotes, and any
    other character, a backslash under the backtick escape included, is kept.
    ``--`` alone ends the flags.
    """
    words: list[str] = []
    in_spaces, in_word, in_quote = 0, 1, 2
    phase = in_spaces
    word: list[str] = []
    quote = ""
    blank_ok = False
    pos = 0
    n = len(line)
    while pos <= n:
        ch = line[pos] if pos < n else ""
        if phase == in_spaces:
            if pos == n:
                break
            if _is_space(ch):
                pos += 1
                continue
            if ch != "-" or pos + 1 == n or line[pos + 1] != "-":
                return line[pos:], words
            phase = in_word
        if phase in (in_word, in_quote) and pos == n:
            w = "".join(word)
            if w != "--" and (blank_ok or w):
                words.append(w)
            break
        if phase == in_word:
            if _is_space(ch):
                phase = in_spaces
                w = "".join(word)
                if w == "--":
                    return line[pos:], words
                if blank_ok or w:
                    words.append(w)
                word = []
                blank_ok = False
                pos += 1
                continue
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
                phase = in_quote
                pos += 1
                continue
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue  # a trailing escape character is dropped
                pos += 1
                ch = line[pos]
            word.append(ch)
            pos += 1
            continue
        # in_quote
        if ch == quote:
            phase = in_word
            pos += 1
            continue
        if ch == escape:
            if pos + 1 == n:
                phase = in_word
                pos += 1
                continue
            pos += 1
            ch = line[pos]
        word.append(ch)
        pos += 1
    return "", words


def parse_words(rest: str, escape: str) -> list[str]:
    """Words separated by whitespace, quotes and escapes kept in place (parseWords)."""
    words: list[str] = []
    in_spaces, in_word, in_quote = 0, 1, 2
    phase = in_spaces
    word = ""
    quote = ""
    blank_ok = False
    pos = 0
    n = len(rest)
    while pos <= n:
        ch = rest[pos] if pos < n else ""
        if phase == in_spaces:
            if pos == n:
                break
            if _is_space(ch):
                pos += 1
                continue
            phase = in_word
        if phase in (in_word, in_quote) and pos == n:
            if blank_ok or word:
                words.append(word)
            break
        if phase == in_word:
            if _is_space(ch):
                phase = in_spaces
                if blank_ok or word:
                    words.append(word)
                word = ""
                blank_ok = False
                pos += 1
                continue
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
                phase = in_quote
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue  # an escape at the end of the line is dropped
                # Outside quotes the escape and the next character are both kept,
                # even if that character is a quote.
                word += ch
                pos += 1
                ch = rest[pos]
            word += ch
            pos += 1
            continue
        # in_quote
        if ch == quote:
            phase = in_word
        if ch == escape and quote != "'":
            if pos + 1 == n:
                phase = in_word
                pos += 1
                continue
            pos += 1
            word += ch
            ch = rest[pos]
        word += ch
        pos += 1
    return words


# -- argument forms (line_parsers.go) -------------------------------------------------

_ParseResult = tuple[list[str], bool, "Node | None"]


class _NotStrings(ValueError):
    pass


def _parse_ignore(rest: str, d: _Directives) -> _ParseResult:
    return [], False, None


def _go_number(text: str) -> float:
    """A JSON number as Go decodes it into ``any``: a float64, or an error when out of range."""
    value = float(text)
    if math.isinf(value):
        # strconv.ParseFloat's ErrRange: json.Unmarshal fails, so the shell form is used.
        raise ValueError(f"json: cannot unmarshal number {text} into Go value of type float64")
    return value


def _go_constant(name: str) -> float:
    # NaN, Infinity and -Infinity are not JSON: Go's scanner refuses them.
    raise ValueError(f"invalid character in JSON: {name}")


#: Python's decoder, made as strict as Go's json.Unmarshal into ``[]any``.
_GO_JSON = json.JSONDecoder(parse_float=_go_number, parse_int=_go_number, parse_constant=_go_constant)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _parse_json(rest: str) -> list[str] | None:
    """The strings of ``rest`` read as a JSON array (parseJSON), or None if it is not one.

    Like BuildKit's ``json.Unmarshal``, the whole text must be one JSON value
    (trailing whitespace aside): ``["echo"] tail`` is not JSON. Values Go's
    decoder refuses (NaN, Infinity, numbers beyond float64) make it not JSON
    either. Escaped lone surrogates decode to U+FFFD, as in Go. Raises
    _NotStrings for a valid array holding anything but strings.
    """
    rest = _lstrip(rest)
    if not rest.startswith("["):
        return None
    try:
        value = _GO_JSON.decode(rest)
    except (ValueError, RecursionError):
        # RecursionError: nesting deeper than Python's stack allows. Go would refuse
        # such an array (if valid) as non-strings; reading it as the shell form
        # instead keeps the parser from crashing on hostile input.
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(v, str) for v in value):
        raise _NotStrings("when using JSON array syntax, arrays must be comprised of strings only")
    return [_SURROGATE.sub("\ufffd", v) for v in value]


def _parse_maybe_json(rest: str, d: _Directives) -> _ParseResult:
    if rest == "":
        return [], False, None
    value = _parse_json(rest)
    if value is not None:
        return value, True, None
    return [rest], False, None


def _parse_maybe_json_to_list(rest: str, d: _Directives) -> _ParseResult:
    value = _parse_json(rest)
    if value is not None:
        return value, True, None
    return _parse_whitespace(rest, d)


def _parse_whitespace(rest: str, d: _Directives) -> _ParseResult:
    if rest == "":
        return [], False, None
    return _WHITESPACE.split(rest), False, None


def _parse_string(rest: str, d: _Directives) -> _ParseResult:
    if rest == "":
        return [], False, None
    return [rest], False, None


def _parse_name_val(rest: str, key: str, d: _Directives) -> list[str]:
    words = parse_words(rest, d.escape)
    if not words:
        return []
    if "=" not in words[0]:
        # Legacy form: KEY name value (the value is the rest of the line as written).
        parts = _WHITESPACE.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise ValueError(f"{key} must have two arguments")
        return [parts[0], parts[1]]
    out: list[str] = []
    for word in words:
        if "=" not in word:
            raise ValueError(f'Syntax error - can\'t find = in "{word}". Must be of the form: name=value')
        k, _, v = word.partition("=")
        out += [k, v]
    return out


def _parse_env(rest: str, d: _Directives) -> _ParseResult:
    return _parse_name_val(rest, "ENV", d), False, None


def _parse_label(rest: str, d: _Directives) -> _ParseResult:
    return _parse_name_val(rest, "LABEL", d), False, None


def _parse_name_or_name_val(rest: str, d: _Directives) -> _ParseResult:
    return parse_words(rest, d.escape), False, None


def _parse_health(rest: str, d: _Directives) -> _ParseResult:
    sep = 0
    while sep < len(rest) and not _is_space(rest[sep]):
        sep += 1
    nxt = sep
    while nxt < len(rest) and _is_space(rest[nxt]):
        nxt += 1
    if sep == 0:
        return [], False, None
    args, is_json, _ = _parse_maybe_json(rest[nxt:], d)
    return [rest[:sep]] + args, is_json, None


def _parse_sub_command(rest: str, d: _Directives) -> _ParseResult:
    if rest == "":
        return [], False, None
    child = _node_from_line(rest, d)
    return [child.keyword] + child.args, False, child


_DISPATCH = {
    "ADD": _parse_maybe_json_to_list,
    "ARG": _parse_name_or_name_val,
    "CMD": _parse_maybe_json,
    "COPY": _parse_maybe_json_to_list,
    "ENTRYPOINT": _parse_maybe_json,
    "ENV": _parse_env,
    "EXPOSE": _parse_whitespace,
    "FROM": _parse_whitespace,
    "HEALTHCHECK": _parse_health,
    "LABEL": _parse_label,
    "MAINTAINER": _parse_string,
    "ONBUILD": _parse_sub_command,
    "RUN": _parse_maybe_json,
    "SHELL": _parse_maybe_json,
    "STOPSIGNAL": _parse_string,
    "USER": _parse_string,
    "VOLUME": _parse_maybe_json_to_list,
    "WORKDIR": _parse_string,
}


# -- heredocs ------------------------------------------------------------------------

def parse_heredoc(word: str) -> Heredoc | None:
    """The heredoc a word like ``<<EOF``, ``<<-"EOF"`` or ``3<<EOF`` opens, or None."""
    m = _HEREDOC.match(word)
    if m is None:
        return None
    fd = int(m.group(1)) if m.group(1) else 0
    chomp = m.group(2) == "-"
    rest = m.group(3)
    if not rest:
        return None
    # Lex the delimiter with and without quote removal: if quotes disappear in one
    # and not the other, part of it was quoted, and the content is not expanded.
    try:
        words = Lex("\\", skip_unset=True).process_words(rest, {})
    except ShellError as exc:
        raise ValueError(str(exc)) from None
    if len(words) != 1:
        return None
    try:
        raw_words = Lex("\\", raw_quotes=True, skip_unset=True).process_words(rest, {})
    except ShellError as exc:
        raise ValueError(str(exc)) from None
    if len(raw_words) != len(words):
        raise ValueError(f"internal lexing of heredoc produced inconsistent results: {rest}")
    word0, raw0 = words[0], raw_words[0]
    quotes = word0.count("'") + word0.count('"')
    raw_quotes = raw0.count("'") + raw0.count('"')
    return Heredoc(name=word0, expand=quotes == raw_quotes, chomp=chomp, fd=fd)


def heredocs_from_line(line: str) -> list[Heredoc]:
    """Every heredoc a logical line opens, in order."""
    try:
        words = Lex("\\", raw_quotes=True, raw_escapes=True, skip_unset=True).process_words(line, {})
    except ShellError:
        words = []
    out = []
    for word in words:
        doc = parse_heredoc(word)
        if doc is not None:
            out.append(doc)
    return out


def chomp_heredoc(content: str) -> str:
    """Remove leading tabs from every line (``<<-``)."""
    return _LEADING_TABS.sub("", content)


__all__ = ["Dockerfile", "DockerfileError", "Heredoc", "KEYWORDS", "Node", "chomp_heredoc", "parse",
           "parse_heredoc", "parse_words", "split_command"]
