"""The template lexer: text and actions into tokens (mirrors Go's
``text/template/parse/lex.go``, messages included).
"""

from __future__ import annotations

from .gofmt import go_quote


(
    _EOF,
    _ERROR,
    _TEXT,
    _LEFT,
    _RIGHT,
    _SPACE,
    _FIELD,
    _VAR,
    _IDENT,
    _STRING,
    _RAW,
    _CHARC,
    _NUMBER,
    _BOOL,
    _PIPE,
    _LPAREN,
    _RPAREN,
    _ASSIGN,
    _DECLARE,
    _CHAR,
) = range(20)
# Keyword items: Go prints them as <word> in messages.
_KW = 100
_DOT, _NIL, _BLOCK, _BREAK, _CONTINUE, _DEFINE, _ELSE, _END, _IF, _RANGE, _TEMPLATE, _WITH = range(100, 112)
_KEYWORDS = {
    "block": _BLOCK,
    "break": _BREAK,
    "continue": _CONTINUE,
    "define": _DEFINE,
    "else": _ELSE,
    "end": _END,
    "if": _IF,
    "nil": _NIL,
    "range": _RANGE,
    "template": _TEMPLATE,
    "with": _WITH,
}
_SPACES = " \t\r\n"


class _Tok:
    __slots__ = ("typ", "val", "pos")

    def __init__(self, typ: int, val: str, pos: int) -> None:
        self.typ = typ
        self.val = val
        self.pos = pos

    def __str__(self) -> str:  # Go's item.String(), used in parse errors
        if self.typ == _EOF:
            return "EOF"
        if self.typ == _ERROR:
            return self.val
        if self.typ >= _KW:
            return "<" + self.val + ">"
        if len(self.val) > 10:
            return go_quote(self.val[:10]) + "..."
        return go_quote(self.val)


def _fmt_U(ch: str) -> str:
    """Go's ``%#U``: ``U+007D '}'``."""
    s = "U+%04X" % ord(ch)
    if ch.isprintable():
        s += " '" + ch + "'"
    return s


def _is_alnum(c: str) -> bool:
    return c == "_" or c.isalpha() or c.isdecimal()


def _lex(src: str) -> list[_Tok]:
    """Split ``src`` into items; a lexing error ends the list with an error item."""
    toks: list[_Tok] = []
    n = len(src)

    def at_right_delim(p: int) -> tuple[bool, bool]:
        if p + 1 < n and src[p] in _SPACES and src[p + 1] == "-" and src.startswith("}}", p + 2):
            return True, True
        if src.startswith("}}", p):
            return True, False
        return False, False

    def at_terminator(p: int) -> bool:
        if p >= n:
            return True
        c = src[p]
        if c in _SPACES or c in ".,|:)(":
            return True
        return src.startswith("}}", p)

    def scan_alnum(p: int) -> int:
        while p < n and _is_alnum(src[p]):
            p += 1
        return p

    def scan_number(p: int) -> tuple[int, bool]:
        q = p
        if q < n and src[q] in "+-":
            q += 1
        digits = "0123456789_"
        if q < n and src[q] == "0":
            q += 1
            if q < n and src[q] in "xX":
                q += 1
                digits = "0123456789abcdefABCDEF_"
            elif q < n and src[q] in "oO":
                q += 1
                digits = "01234567_"
            elif q < n and src[q] in "bB":
                q += 1
                digits = "01_"
        while q < n and src[q] in digits:
            q += 1
        if q < n and src[q] == ".":
            q += 1
            while q < n and src[q] in digits:
                q += 1
        if len(digits) == 11 and q < n and src[q] in "eE":
            q += 1
            if q < n and src[q] in "+-":
                q += 1
            while q < n and src[q] in "0123456789_":
                q += 1
        if len(digits) == 23 and q < n and src[q] in "pP":
            q += 1
            if q < n and src[q] in "+-":
                q += 1
            while q < n and src[q] in "0123456789_":
                q += 1
        if q < n and src[q] == "i":
            q += 1
        if q < n and _is_alnum(src[q]):
            return q + 1, False
        return q, True

    def error(msg: str, p: int) -> list[_Tok]:
        toks.append(_Tok(_ERROR, msg, p))
        return toks

    pos = 0
    while True:
        x = src.find("{{", pos)
        if x < 0:
            if pos < n:
                toks.append(_Tok(_TEXT, src[pos:], pos))
            toks.append(_Tok(_EOF, "", n))
            return toks
        after = x + 2
        trim = after + 1 < n and src[after] == "-" and src[after + 1] in _SPACES
        end = pos + len(src[pos:x].rstrip(_SPACES)) if trim else x
        if end > pos:
            toks.append(_Tok(_TEXT, src[pos:end], pos))
        if trim:
            after += 2
        if src.startswith("/*", after):
            c = src.find("*/", after + 2)
            if c < 0:
                return error("unclosed comment", x)
            p = c + 2
            delim, rtrim = at_right_delim(p)
            if not delim:
                return error("comment ends before closing delimiter", x)
            p += 4 if rtrim else 2
            if rtrim:
                while p < n and src[p] in _SPACES:
                    p += 1
            pos = p
            continue
        toks.append(_Tok(_LEFT, "{{", x))
        p = after
        depth = 0
        while True:
            delim, rtrim = at_right_delim(p)
            if delim:
                if depth:
                    return error("unclosed left paren", p)
                if rtrim:
                    p += 2
                toks.append(_Tok(_RIGHT, "}}", p))
                p += 2
                if rtrim:
                    while p < n and src[p] in _SPACES:
                        p += 1
                break
            if p >= n:
                return error("unclosed action", p)
            c = src[p]
            if c in _SPACES:
                q = p
                while q < n and src[q] in _SPACES:
                    q += 1
                # " -}}": the last space belongs to the trim marker.
                if src.startswith("-}}", q):
                    q -= 1
                    if q == p:
                        continue
                toks.append(_Tok(_SPACE, src[p:q], p))
                p = q
            elif c == "=":
                toks.append(_Tok(_ASSIGN, "=", p))
                p += 1
            elif c == ":":
                if not src.startswith(":=", p):
                    return error("expected :=", p)
                toks.append(_Tok(_DECLARE, ":=", p))
                p += 2
            elif c == "|":
                toks.append(_Tok(_PIPE, "|", p))
                p += 1
            elif c == '"' or c == "'":
                q = p + 1
                while True:
                    if q >= n or src[q] == "\n":
                        what = "quoted string" if c == '"' else "character constant"
                        return error("unterminated " + what, p)
                    ch = src[q]
                    if ch == "\\":
                        if q + 1 >= n or src[q + 1] == "\n":
                            what = "quoted string" if c == '"' else "character constant"
                            return error("unterminated " + what, p)
                        q += 2
                        continue
                    q += 1
                    if ch == c:
                        break
                toks.append(_Tok(_STRING if c == '"' else _CHARC, src[p:q], p))
                p = q
            elif c == "`":
                q = src.find("`", p + 1)
                if q < 0:
                    return error("unterminated raw quoted string", p)
                toks.append(_Tok(_RAW, src[p : q + 1], p))
                p = q + 1
            elif c == "$" or (c == "." and not (p + 1 < n and "0" <= src[p + 1] <= "9")):
                q = p + 1
                if at_terminator(q):
                    toks.append(_Tok(_VAR, "$", p) if c == "$" else _Tok(_DOT, ".", p))
                else:
                    q = scan_alnum(q)
                    if not at_terminator(q):
                        return error("bad character " + _fmt_U(src[q]), p)
                    toks.append(_Tok(_VAR if c == "$" else _FIELD, src[p:q], p))
                p = q
            elif c in "+-." or "0" <= c <= "9":
                q, ok = scan_number(p)
                if ok and q < n and src[q] in "+-":  # complex constant such as 1+2i
                    q, ok = scan_number(q)
                    ok = ok and src[q - 1] == "i"
                if not ok:
                    return error("bad number syntax: " + go_quote(src[p:q]), p)
                toks.append(_Tok(_NUMBER, src[p:q], p))
                p = q
            elif _is_alnum(c):
                q = scan_alnum(p)
                if not at_terminator(q):
                    return error("bad character " + _fmt_U(src[q]), p)
                word = src[p:q]
                kw = _KEYWORDS.get(word)
                if kw is not None:
                    toks.append(_Tok(kw, word, p))
                elif word == "true" or word == "false":
                    toks.append(_Tok(_BOOL, word, p))
                else:
                    toks.append(_Tok(_IDENT, word, p))
                p = q
            elif c == "(":
                depth += 1
                toks.append(_Tok(_LPAREN, "(", p))
                p += 1
            elif c == ")":
                depth -= 1
                if depth < 0:
                    return error("unexpected right paren", p)
                toks.append(_Tok(_RPAREN, ")", p))
                p += 1
            elif c <= "\x7f" and c.isprintable():
                toks.append(_Tok(_CHAR, c, p))
                p += 1
            else:
                return error("unrecognized character in action: " + _fmt_U(c), p)
        pos = p
