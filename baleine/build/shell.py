"""Shell-word expansion of Dockerfile arguments, exactly as Docker's lexer does it.

A port of moby/buildkit's ``frontend/dockerfile/shell/lex.go`` (the lexer both the
classic builder and BuildKit use): ``$var``, ``${var}``, ``${var:-word}``,
``${var-word}``, ``${var:+word}``, ``${var+word}``, ``${var:?msg}``,
``${var?msg}``, ``${var#pat}``, ``${var##pat}``, ``${var%pat}``, ``${var%%pat}``,
``${var/pat/repl}``, ``${var//pat/repl}`` (``${var:#pat}`` and the other
colon forms of the pattern modifiers are errors, as in BuildKit); single quotes
(literal), double quotes (``$`` expands, the escape character escapes ``"``,
``$`` and itself only), the escape character outside quotes (escapes anything);
``<<`` keeps the blanks after it in its word, so ``<< EOF`` is one word (how
BuildKit finds heredocs written with a space). It is *not* a shell: no command
substitution, arithmetic, globbing or field splitting beyond what the Go code
does.

Pure: no I/O. Everything raises :class:`ShellError` with Docker's messages.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

EOF = ""


class ShellError(ValueError):
    """A word could not be expanded (Docker's message in ``str()``)."""


@dataclass
class ExpandResult:
    """What :meth:`Lex.process` produced for one word.

    ``result`` is the expanded word (quotes removed, spaces kept); ``words`` the
    same split on unquoted whitespace; ``matched`` / ``unmatched`` the variable
    names that were / were not found in the environment.
    """

    result: str
    words: list[str]
    matched: set[str] = field(default_factory=set)
    unmatched: set[str] = field(default_factory=set)


def _is_space(ch: str) -> bool:
    # Go's unicode.IsSpace: '\t', '\n', '\v', '\f', '\r', ' ', U+0085, U+00A0 and the Z category.
    return ch in "\t\n\v\f\r \x85\xa0" or (ch > "\xff" and unicodedata.category(ch) == "Zs") or \
        ch in "\u2028\u2029"


def _is_letter(ch: str) -> bool:
    return ch.isalpha()


def _is_digit(ch: str) -> bool:
    # Go's unicode.IsDigit: category Nd.
    return bool(ch) and unicodedata.category(ch) == "Nd"


_SPECIAL_PARAMS = frozenset("@*#?-$!0")
_HEREDOC_BLANKS = "\t\r "  # lex.go's isWhitespace


class _Scanner:
    """Go's text/scanner used rune by rune (Peek/Next)."""

    __slots__ = ("text", "pos")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else EOF

    def next(self) -> str:
        if self.pos < len(self.text):
            ch = self.text[self.pos]
            self.pos += 1
            return ch
        return EOF


class _Words:
    """wordsStruct: accumulates words split on unquoted whitespace."""

    __slots__ = ("word", "words", "in_word")

    def __init__(self) -> None:
        self.word = ""
        self.words: list[str] = []
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if _is_space(ch) and self.in_word:
            if self.word:
                self.words.append(self.word)
                self.word = ""
                self.in_word = False
        elif not _is_space(ch):
            self.add_raw_char(ch)

    def add_raw_char(self, ch: str) -> None:
        self.word += ch
        self.in_word = True

    def add_string(self, text: str) -> None:
        for ch in text:
            self.add_char(ch)

    def add_raw_string(self, text: str) -> None:
        self.word += text
        self.in_word = True

    def get_words(self) -> list[str]:
        if self.word:
            self.words.append(self.word)
            self.word = ""
            self.in_word = False
        return self.words


class Lex:
    """Docker's shell lexer.

    ``escape`` is the Dockerfile's escape character (backslash or backtick).
    ``raw_quotes`` keeps quote characters in the output, ``raw_escapes`` keeps
    escape characters, ``skip_unset`` leaves references to unset variables as
    written, ``skip_quotes`` treats quotes as ordinary characters (all as the Go
    fields RawQuotes, RawEscapes, SkipUnsetEnv, SkipProcessQuotes).
    """

    def __init__(self, escape: str = "\\", *, raw_quotes: bool = False, raw_escapes: bool = False,
                 skip_unset: bool = False, skip_quotes: bool = False) -> None:
        self.escape = escape
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes
        self.skip_unset = skip_unset
        self.skip_quotes = skip_quotes

    # -- public API ------------------------------------------------------------------

    def process(self, word: str, env: dict[str, str] | list[str]) -> ExpandResult:
        """Expand ``word``; raise ShellError (``failed to process "word": ...``)."""
        envs = build_envs(env) if isinstance(env, list) else env
        w = _ShellWord(self, word, envs)
        try:
            result, words = w.process_stop_on(EOF, self.raw_escapes)
        except ShellError as exc:
            raise ShellError(f'failed to process "{_go_quote_inner(word)}": {exc}') from None
        return ExpandResult(result, words, w.matches, w.nonmatches)

    def process_word(self, word: str, env: dict[str, str] | list[str]) -> str:
        """The expanded word (ProcessWord / ProcessWordWithMap)."""
        return self.process(word, env).result

    def process_words(self, word: str, env: dict[str, str] | list[str]) -> list[str]:
        """The expanded word split into words (ProcessWords / ProcessWordsWithMap)."""
        return self.process(word, env).words


def build_envs(env: list[str]) -> dict[str, str]:
    """``["K=V", "K2"]`` → ``{"K": "V", "K2": ""}``; later entries win (BuildEnvs)."""
    out: dict[str, str] = {}
    for e in env:
        k, sep, v = e.partition("=")
        out[k] = v if sep else ""
    return out


def _go_quote_inner(s: str) -> str:
    """What Go's %q puts between the quotes, for plain text (enough for messages)."""
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")


class _ShellWord:
    """One expansion in progress (the Go ``shellWord``)."""

    def __init__(self, lex: Lex, word: str, envs: dict[str, str]) -> None:
        self.lex = lex
        self.scanner = _Scanner(word)
        self.envs = envs
        self.raw_escapes = lex.raw_escapes
        self.matches: set[str] = set()
        self.nonmatches: set[str] = set()

    def process_stop_on(self, stop: str, raw_escapes: bool) -> tuple[str, list[str]]:
        """Process until ``stop`` (consumed) or end of input; (result, words)."""
        result: list[str] = []
        words = _Words()
        saved = self.raw_escapes
        self.raw_escapes = raw_escapes
        try:
            sc = self.scanner
            esc = self.lex.escape
            while sc.peek() != EOF:
                ch = sc.peek()
                if stop != EOF and ch == stop:
                    sc.next()
                    return "".join(result), words.get_words()
                if ch == "$":
                    tmp = self.process_dollar()
                    result.append(tmp)
                    words.add_string(tmp)
                elif ch == "<":
                    tmp = self.process_possible_heredoc()
                    result.append(tmp)
                    words.add_raw_string(tmp)
                elif ch in ("'", '"') and not self.lex.skip_quotes:
                    tmp = self.process_single_quote() if ch == "'" else self.process_double_quote()
                    result.append(tmp)
                    words.add_raw_string(tmp)
                else:
                    ch = sc.next()
                    if ch == esc:
                        if self.raw_escapes:
                            words.add_raw_char(ch)
                            result.append(ch)
                        # The escape character escapes anything (except end of input).
                        ch = sc.next()
                        if ch == EOF:
                            break
                        words.add_raw_char(ch)
                    else:
                        words.add_char(ch)
                    result.append(ch)
            if stop != EOF:
                raise ShellError(f"unexpected end of statement while looking for matching {stop}")
            return "".join(result), words.get_words()
        finally:
            self.raw_escapes = saved

    def process_single_quote(self) -> str:
        # Everything up to the next ' is literal; a ' cannot be escaped inside.
        sc = self.scanner
        out: list[str] = []
        ch = sc.next()
        if self.lex.raw_quotes:
            out.append(ch)
        while True:
            ch = sc.next()
            if ch == EOF:
                raise ShellError("unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                if self.lex.raw_quotes:
                    out.append(ch)
                return "".join(out)
            out.append(ch)

    def process_double_quote(self) -> str:
        # $ expands; the escape character escapes only ", $ and itself.
        sc = self.scanner
        esc = self.lex.escape
        out: list[str] = []
        ch = sc.next()
        if self.lex.raw_quotes:
            out.append(ch)
        while True:
            peek = sc.peek()
            if peek == EOF:
                raise ShellError("unexpected end of statement while looking for matching double-quote")
            if peek == '"':
                ch = sc.next()
                if self.lex.raw_quotes:
                    out.append(ch)
                return "".join(out)
            if peek == "$":
                out.append(self.process_dollar())
                continue
            ch = sc.next()
            if ch == esc:
                if self.raw_escapes:
                    out.append(ch)
                nxt = sc.peek()
                if nxt == EOF:
                    continue  # ignore the escape at the end of the word
                if nxt in ('"', "$", esc):
                    ch = sc.next()
            out.append(ch)

    def process_dollar(self) -> str:
        sc = self.scanner
        sc.next()  # the $
        if sc.peek() != "{":
            name = self.process_name()
            if not name:
                return "$"
            value, found = self.get_env(name)
            if not found and self.lex.skip_unset:
                return "$" + name
            return value
        sc.next()  # the {
        peek = sc.peek()
        if peek == EOF:
            raise ShellError("syntax error: missing '}'")
        if peek in ("{", "}", ":"):
            raise ShellError("syntax error: bad substitution")
        name = self.process_name()
        ch = sc.next()
        chs = ch
        null_is_unset = False
        if ch == "}":
            value, found = self.get_env(name)
            if not found and self.lex.skip_unset:
                return "${" + name + "}"
            return value
        if ch == ":":
            null_is_unset = True
            ch = sc.next()
            chs += ch
            if ch in ("#", "%"):
                # ${var:#pat}, ${var:%pat}: no such forms; rejected before the word is read.
                raise ShellError(f"unsupported modifier ({chs}) in substitution")
            if ch not in ("+", "-", "?", "#", "%"):
                # Go falls through to the modifier switch with any character,
                # processes the word, and only then rejects the modifier.
                word, _ = self._modifier_word(ch)
                value, found = self.get_env(name)
                if self.lex.skip_unset and not found:
                    return "${" + name + chs + word + "}"
                raise ShellError(f"unsupported modifier ({chs}) in substitution")
        if ch in ("+", "-", "?", "#", "%"):
            word, _ = self._modifier_word(ch)
            value, found = self.get_env(name)
            if self.lex.skip_unset and not found:
                return "${" + name + chs + word + "}"
            if ch == "-":
                if not found or (null_is_unset and value == ""):
                    return word
                return value
            if ch == "+":
                if not found or (null_is_unset and value == ""):
                    return ""
                return word
            if ch == "?":
                if not found:
                    raise ShellError(f"{name}: {word or 'is not allowed to be unset'}")
                if null_is_unset and value == "":
                    raise ShellError(f"{name}: {word or 'is not allowed to be empty'}")
                return value
            # % / #: shortest match, doubled: longest.
            greedy = False
            if word and word[0] == ch:
                greedy = True
                word = word[1:]
            if ch == "%":
                return _trim_suffix(word, value, greedy)
            return _trim_prefix(word, value, greedy)
        if ch == "/":
            replace_all = sc.peek() == "/"
            if replace_all:
                sc.next()
            try:
                pattern, _ = self.process_stop_on("/", True)
            except ShellError:
                if sc.peek() == EOF:
                    raise ShellError("syntax error: missing '/' in ${}") from None
                raise
            try:
                replacement, _ = self.process_stop_on("}", True)
            except ShellError:
                if sc.peek() == EOF:
                    raise ShellError("syntax error: missing '}'") from None
                raise
            value, found = self.get_env(name)
            if self.lex.skip_unset and not found:
                return "${" + name + "/" + pattern + "/" + replacement + "}"
            regex = _pattern_regex(pattern, greedy=True, anchored=False)
            if replace_all:
                return _go_replace_all(regex, value, replacement)
            m = regex.search(value)
            if m is not None:
                value = value[:m.start()] + replacement + value[m.end():]
            return value
        raise ShellError(f"unsupported modifier ({chs}) in substitution")

    def _modifier_word(self, ch: str) -> tuple[str, list[str]]:
        raw = ch in ("#", "%")
        try:
            return self.process_stop_on("}", raw)
        except ShellError:
            if self.scanner.peek() == EOF:
                raise ShellError("syntax error: missing '}'") from None
            raise

    def process_possible_heredoc(self) -> str:
        """``<``, or ``<<`` with the blanks (space, tab, CR) after it.

        The blanks stay in the word so that ``<< EOF`` lexes as one word, which
        the heredoc pattern then reads as ``EOF``; ``<<- EOF`` stays two words.
        """
        sc = self.scanner
        sc.next()
        if sc.peek() != "<":
            return "<"
        sc.next()
        out = ["<<"]
        while sc.peek() != EOF and sc.peek() in _HEREDOC_BLANKS:
            out.append(sc.next())
        return "".join(out)

    def process_name(self) -> str:
        """A variable name: letters, digits, _; or digits only; or one special parameter."""
        sc = self.scanner
        name: list[str] = []
        while sc.peek() != EOF:
            ch = sc.peek()
            if not name and _is_digit(ch):
                while sc.peek() != EOF and _is_digit(sc.peek()):
                    name.append(sc.next())
                return "".join(name)
            if not name and ch in _SPECIAL_PARAMS:
                return sc.next()
            if not _is_letter(ch) and not _is_digit(ch) and ch != "_":
                break
            name.append(sc.next())
        return "".join(name)

    def get_env(self, name: str) -> tuple[str, bool]:
        # Environment keys are case-sensitive on Linux.
        if name in self.envs:
            self.matches.add(name)
            return self.envs[name], True
        self.nonmatches.add(name)
        return "", False


def _pattern_regex(pattern: str, greedy: bool, anchored: bool) -> re.Pattern[str]:
    """convertShellPatternToRegex: ``*`` and ``?`` wildcards, ``\\`` escapes ``*?\\``;
    a ``\\`` before ``}`` or ``/`` is dropped. No bracket expressions."""
    out = ["^"] if anchored else []
    star = ".*" if greedy else ".*?"
    i = 0
    n = len(pattern)
    while i < n:
        tok = pattern[i]
        i += 1
        if tok == "*":
            out.append(star)
            continue
        if tok == "?":
            out.append(".")
            continue
        if tok == "\\":
            nxt = pattern[i] if i < n else EOF
            if nxt in ("}", "/"):
                continue
            i += 1
            if nxt not in ("*", "?", "\\"):
                shown = nxt if nxt else "\x00"
                raise ShellError(f"invalid pattern ({pattern}) in substitution: invalid escape '\\{shown}'")
            out.append(re.escape(nxt))
            continue
        out.append(re.escape(tok))
    # Go's regexp "." does not match "\n" by default either; keep parity.
    return re.compile("".join(out))


def _go_replace_all(regex: re.Pattern[str], value: str, replacement: str) -> str:
    """Go's Regexp.ReplaceAllString with ``$`` expansion in the replacement.

    Go expands ``$1``/``${name}`` in the replacement; the pattern has no groups,
    so ``$n`` becomes empty and ``$$`` a dollar, like Go.
    """
    repl = _go_expand_template(replacement)
    # Go: after an empty match, the next match may not start at the same position.
    out: list[str] = []
    pos = 0
    last_end = -1
    for m in regex.finditer(value):
        if m.start() == m.end() and m.start() == last_end:
            continue
        out.append(value[pos:m.start()])
        out.append(repl)
        pos = m.end()
        last_end = m.end()
    out.append(value[pos:])
    return "".join(out)


_TEMPLATE_NAME = re.compile(r"\$(\$|\{[A-Za-z0-9_]+\}|[A-Za-z0-9_]+)")


def _go_expand_template(template: str) -> str:
    # No capture groups exist, so every reference expands to "" ($$ to "$").
    return _TEMPLATE_NAME.sub(lambda m: "$" if m.group(1) == "$" else "", template)


def _trim_prefix(word: str, value: str, greedy: bool) -> str:
    regex = _pattern_regex(word, greedy, anchored=True)
    m = regex.search(value)
    if m is not None:
        value = value[m.end():]
    return value


def _reverse_pattern(pattern: str) -> str:
    """Reverse a pattern keeping escapes in front of what they escape (a\\*c → c\\*a)."""
    runes = list(pattern)
    last = len(runes) - 1
    out = [""] * len(runes)
    i = 0
    while i <= last:
        tok = runes[i]
        out_idx = last - i
        if tok == "\\" and i != last:
            out[out_idx - 1] = tok
            out[out_idx] = runes[i + 1]
            i += 2
        else:
            out[out_idx] = tok
            i += 1
    return "".join(out)


def _trim_suffix(pattern: str, word: str, greedy: bool) -> str:
    # Regular expressions cannot find the shortest rightmost match: reverse both.
    return _trim_prefix(_reverse_pattern(pattern), word[::-1], greedy)[::-1]


__all__ = ["ExpandResult", "Lex", "ShellError", "build_envs"]
