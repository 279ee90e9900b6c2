"""The template parser: tokens into a tree of ``nodes`` (mirrors Go's
``text/template/parse/parse.go``, messages included).
"""

from __future__ import annotations

import math

from .gofmt import go_quote
from .lexer import (_ASSIGN, _BLOCK, _BOOL, _BREAK, _CHAR, _CHARC, _CONTINUE, _DECLARE, _DEFINE, _DOT, _ELSE,
                    _END, _EOF, _ERROR, _FIELD, _IDENT, _IF, _LEFT, _LPAREN, _NIL, _NUMBER, _PIPE, _RANGE,
                    _RAW, _RIGHT, _RPAREN, _SPACE, _STRING, _TEMPLATE, _TEXT, _Tok, _VAR, _WITH, _lex)
from .literals import _SyntaxError, _go_unquote, _parse_go_int, _unquote_char
from .nodes import (_Action, _Bool, _BreakNode, _Chain, _Command, _ContinueNode, _Dot, _Else, _End, _Field,
                    _Identifier, _If, _List, _Nil, _Node, _Number, _Pipe, _Range, _String, _TemplateCall,
                    _Text, _Variable, _With, _line_of)
from .values import TemplateError


class _Parser:
    def __init__(self, src: str, name: str, funcs: dict) -> None:
        self.src = src
        self.name = name
        self.funcs = funcs
        self.toks = _lex(src)
        self.last = len(self.toks) - 1
        self.i = 0
        self.cur = self.toks[0]
        self.vars = ["$"]
        self.range_depth = 0
        self.defs: dict[str, _List] = {}

    # token stream ---------------------------------------------------------
    def next(self) -> _Tok:
        t = self.toks[min(self.i, self.last)]
        self.i += 1
        self.cur = t
        if t.typ == _ERROR:
            self.fail(t.val, t.pos)
        return t

    def backup(self) -> None:
        self.i -= 1

    def peek(self) -> _Tok:
        t = self.next()
        self.backup()
        return t

    def next_non_space(self) -> _Tok:
        while True:
            t = self.next()
            if t.typ != _SPACE:
                return t

    def peek_non_space(self) -> _Tok:
        t = self.next_non_space()
        self.backup()
        return t

    # errors ---------------------------------------------------------------
    def fail(self, msg: str, pos: int) -> None:
        raise TemplateError("template: %s:%d: %s" % (self.name, _line_of(self.src, pos), msg))

    def errorf(self, msg: str) -> None:
        self.fail(msg, self.cur.pos)

    def unexpected(self, tok: _Tok, context: str) -> None:
        self.errorf("unexpected %s in %s" % (tok, context))

    def expect(self, typ: int, context: str) -> _Tok:
        t = self.next_non_space()
        if t.typ != typ:
            self.unexpected(t, context)
        return t

    # grammar --------------------------------------------------------------
    def parse(self) -> _List:
        root = _List(self.peek().pos)
        while self.peek().typ != _EOF:
            if self.peek().typ == _LEFT:
                save = self.i
                self.next()
                if self.next_non_space().typ == _DEFINE:
                    self.parse_definition()
                    continue
                self.i = save
            n = self.text_or_action()
            if isinstance(n, (_End, _Else)):
                self.errorf("unexpected %s" % n)
            root.nodes.append(n)
        return root

    def template_name(self, tok: _Tok, context: str) -> str:
        if tok.typ not in (_STRING, _RAW):
            self.unexpected(tok, context)
        try:
            return _go_unquote(tok.val)
        except _SyntaxError:
            self.errorf("invalid syntax")
            raise AssertionError  # unreachable

    def parse_definition(self) -> None:
        context = "define clause"
        saved_vars, self.vars = self.vars, ["$"]
        name = self.template_name(self.next_non_space(), context)
        self.expect(_RIGHT, context)
        body, end = self.item_list()
        if not isinstance(end, _End):
            self.errorf("unexpected %s in %s" % (end, context))
        self.defs[name] = body
        self.vars = saved_vars

    def item_list(self) -> tuple[_List, _Node]:
        lst = _List(self.peek_non_space().pos)
        while self.peek_non_space().typ != _EOF:
            n = self.text_or_action()
            if isinstance(n, (_End, _Else)):
                return lst, n
            lst.nodes.append(n)
        self.errorf("unexpected EOF")
        raise AssertionError  # unreachable

    def text_or_action(self) -> _Node:
        t = self.next_non_space()
        if t.typ == _TEXT:
            return _Text(t.pos, t.val)
        if t.typ == _LEFT:
            return self.action()
        self.unexpected(t, "input")
        raise AssertionError  # unreachable

    def action(self) -> _Node:
        t = self.next_non_space()
        typ = t.typ
        if typ == _BLOCK:
            return self.block_control()
        if typ == _BREAK or typ == _CONTINUE:
            return self.loop_control(t)
        if typ == _ELSE:
            return self.else_control()
        if typ == _END:
            return _End(self.expect(_RIGHT, "end").pos)
        if typ == _IF:
            return _If(*self.parse_control("if"))
        if typ == _RANGE:
            return _Range(*self.parse_control("range"))
        if typ == _TEMPLATE:
            return self.template_control()
        if typ == _WITH:
            return _With(*self.parse_control("with"))
        self.backup()
        t = self.peek()
        return _Action(t.pos, self.pipeline("command", _RIGHT))

    def loop_control(self, tok: _Tok) -> _Node:
        word = "{{" + tok.val + "}}"
        t = self.next_non_space()
        if t.typ != _RIGHT:
            self.unexpected(t, word)
        if self.range_depth == 0:
            self.errorf("%s outside {{range}}" % word)
        return _BreakNode(tok.pos) if tok.typ == _BREAK else _ContinueNode(tok.pos)

    def else_control(self) -> _Node:
        peek = self.peek_non_space()
        # "{{else if ...}}" / "{{else with ...}}": leave the keyword pending.
        if peek.typ in (_IF, _WITH):
            return _Else(peek.pos)
        return _Else(self.expect(_RIGHT, "else").pos)

    def parse_control(self, context: str) -> tuple[int, _Pipe, _List, _List | None]:
        nvars = len(self.vars)
        try:
            pipe = self.pipeline(context, _RIGHT)
            if context == "range":
                self.range_depth += 1
            lst, nxt = self.item_list()
            if context == "range":
                self.range_depth -= 1
            else_list = None
            if isinstance(nxt, _Else):
                if context == "if" and self.peek().typ == _IF:
                    self.next()
                    else_list = _List(nxt.pos, [_If(*self.parse_control("if"))])
                elif context == "with" and self.peek().typ == _WITH:
                    self.next()
                    else_list = _List(nxt.pos, [_With(*self.parse_control("with"))])
                else:
                    else_list, nxt = self.item_list()
                    if not isinstance(nxt, _End):
                        self.errorf("expected end; found %s" % nxt)
            return pipe.pos, pipe, lst, else_list
        finally:
            del self.vars[nvars:]

    def template_control(self) -> _Node:
        context = "template clause"
        tok = self.next_non_space()
        name = self.template_name(tok, context)
        pipe = None
        if self.next_non_space().typ != _RIGHT:
            self.backup()
            pipe = self.pipeline(context, _RIGHT)
        return _TemplateCall(tok.pos, name, pipe)

    def block_control(self) -> _Node:
        context = "block clause"
        tok = self.next_non_space()
        name = self.template_name(tok, context)
        pipe = self.pipeline(context, _RIGHT)
        saved_vars, self.vars = self.vars, ["$"]
        saved_depth, self.range_depth = self.range_depth, 0
        body, end = self.item_list()
        if not isinstance(end, _End):
            self.errorf("unexpected %s in %s" % (end, context))
        self.vars, self.range_depth = saved_vars, saved_depth
        self.defs[name] = body
        return _TemplateCall(tok.pos, name, pipe)

    def pipeline(self, context: str, end: int) -> _Pipe:
        pipe = _Pipe(self.peek_non_space().pos)
        while True:  # declarations
            v = self.peek_non_space()
            if v.typ != _VAR:
                break
            save = self.i
            self.next()
            nxt = self.peek_non_space()
            if nxt.typ in (_ASSIGN, _DECLARE):
                pipe.is_assign = nxt.typ == _ASSIGN
                self.next_non_space()
                pipe.decl.append(_Variable(v.pos, [v.val]))
                self.vars.append(v.val)
                break
            if nxt.typ == _CHAR and nxt.val == ",":
                self.next_non_space()
                pipe.decl.append(_Variable(v.pos, [v.val]))
                self.vars.append(v.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in (_VAR, _RIGHT, _RPAREN):
                        continue
                    self.errorf("range can only initialize variables")
                self.errorf("too many declarations in %s" % context)
            self.i = save
            break
        while True:
            t = self.next_non_space()
            if t.typ == end:
                self.check_pipeline(pipe, context)
                return pipe
            if t.typ in (_BOOL, _CHARC, _DOT, _FIELD, _IDENT, _NUMBER, _NIL, _RAW, _STRING, _VAR, _LPAREN):
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(t, context)

    def check_pipeline(self, pipe: _Pipe, context: str) -> None:
        if not pipe.cmds:
            self.errorf("missing value for %s" % context)
        for i, c in enumerate(pipe.cmds[1:]):
            if isinstance(c.args[0], (_Bool, _Dot, _Nil, _Number, _String)):
                self.errorf("non executable command in pipeline stage %d" % (i + 2))

    def command(self) -> _Command:
        cmd = _Command(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            t = self.next()
            if t.typ == _SPACE:
                continue
            if t.typ in (_RIGHT, _RPAREN):
                self.backup()
            elif t.typ != _PIPE:
                self.unexpected(t, "operand")
            break
        if not cmd.args:
            self.errorf("empty command")
        return cmd

    def operand(self) -> _Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().typ == _FIELD:
            pos = self.peek().pos
            fields = []
            while self.peek().typ == _FIELD:
                fields.append(self.next().val[1:])
            if isinstance(node, _Field):
                node = _Field(pos, node.idents + fields)
            elif isinstance(node, _Variable):
                node = _Variable(pos, node.idents + fields)
            elif isinstance(node, (_Bool, _String, _Number, _Nil, _Dot)):
                self.errorf("unexpected . after term %s" % go_quote(str(node)))
            else:
                node = _Chain(pos, node, fields)
        return node

    def term(self) -> _Node | None:
        t = self.next_non_space()
        typ = t.typ
        if typ == _IDENT:
            if t.val not in self.funcs:
                self.errorf("function %s not defined" % go_quote(t.val))
            return _Identifier(t.pos, t.val)
        if typ == _DOT:
            return _Dot(t.pos)
        if typ == _NIL:
            return _Nil(t.pos)
        if typ == _VAR:
            if t.val not in self.vars:
                self.errorf("undefined variable %s" % go_quote(t.val))
            return _Variable(t.pos, [t.val])
        if typ == _FIELD:
            return _Field(t.pos, [t.val[1:]])
        if typ == _BOOL:
            return _Bool(t.pos, t.val == "true")
        if typ == _NUMBER or typ == _CHARC:
            return self.number(t)
        if typ == _LPAREN:
            return self.pipeline("parenthesized pipeline", _RPAREN)
        if typ == _STRING or typ == _RAW:
            try:
                return _String(t.pos, t.val, _go_unquote(t.val))
            except _SyntaxError:
                self.errorf("invalid syntax")
        self.backup()
        return None

    def number(self, t: _Tok) -> _Number:
        text = t.val
        if t.typ == _CHARC:
            try:
                r = _unquote_char(text)
            except _SyntaxError:
                self.errorf("invalid syntax")
                raise AssertionError  # unreachable
            except ValueError as e:
                self.errorf(str(e))
                raise AssertionError  # unreachable
            return _Number(t.pos, text, r, r)
        if text.endswith("i"):
            self.errorf("complex numbers are not supported: %s" % text)
        iv = _parse_go_int(text)
        if iv is not None:
            if not -(2**63) <= iv < 2**64:
                self.errorf("integer overflow: %s" % text)
            return _Number(t.pos, text, iv, iv)
        try:
            body = text.replace("_", "")
            unsigned = body.lstrip("+-")
            if unsigned[:2] in ("0x", "0X"):
                f = float.fromhex(body)
            else:
                f = float(body)
        except ValueError:
            self.errorf("illegal number syntax: %s" % go_quote(text))
            raise AssertionError  # unreachable
        if not any(c in text for c in ".eEpP"):
            self.errorf("integer overflow: %s" % text)
        int_value = int(f) if math.isfinite(f) and f == int(f) else None
        return _Number(t.pos, text, f, int_value)
