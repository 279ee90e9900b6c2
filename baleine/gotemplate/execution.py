"""Executing a parsed template against data (mirrors Go's ``text/template/exec.go``):
field lookup on dicts and objects, pipelines, variables, control structures.
"""

from __future__ import annotations

from .functions import _Fn, _FnError, _truth
from .gofmt import _go_type, _sorted_keys, format_value, go_quote
from .nodes import (_Action, _Bool, _Branch, _BreakNode, _Chain, _Command, _ContinueNode, _Dot, _Field,
                    _Identifier, _If, _List, _Nil, _Node, _Number, _Pipe, _Range, _String, _TemplateCall,
                    _Text, _Variable, _With)
from .values import NO_VALUE, Struct, TemplateError, _MISSING

# Annotations only (no import cycle with the package's public API).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from . import Template


class _BreakSignal(Exception):
    pass


class _ContinueSignal(Exception):
    pass


_MAX_DEPTH = 200
_NO_ATTR_TYPES = (str, int, float, bool, list, tuple, dict, bytes, bytearray, set, frozenset, complex)


class _State:
    __slots__ = ("tmpl", "name", "funcs", "out", "vars", "node", "depth")

    def __init__(
        self,
        tmpl: Template,
        funcs: dict[str, _Fn],
        out: list[str],
        data: object,
        depth: int = 0,
        name: str | None = None,
    ) -> None:
        self.tmpl = tmpl
        self.name = tmpl.name if name is None else name  # the (sub)template being executed
        self.funcs = funcs
        self.out = out
        self.vars: list[list] = [["$", data]]
        self.node: _Node | None = None
        self.depth = depth

    def error(self, msg: str) -> None:
        src = self.tmpl.text
        node = self.node
        if node is None:
            raise TemplateError('template: %s: executing "%s": %s' % (self.tmpl.name, self.name, msg))
        pos = node.pos
        before = src[:pos]
        nl = before.rfind("\n")
        col = len(before[nl + 1 :].encode("utf-8", "replace")) if nl >= 0 else len(before.encode("utf-8", "replace"))
        raise TemplateError(
            'template: %s:%d:%d: executing "%s" at <%s>: %s'
            % (self.tmpl.name, before.count("\n") + 1, col, self.name, node, msg)
        )

    # variables ------------------------------------------------------------
    def var_value(self, name: str) -> object:
        for v in reversed(self.vars):
            if v[0] == name:
                return v[1]
        self.error("undefined variable: %s" % name)

    def set_var(self, name: str, value: object) -> None:
        for v in reversed(self.vars):
            if v[0] == name:
                v[1] = value
                return
        self.error("undefined variable: %s" % name)

    # walking --------------------------------------------------------------
    def walk(self, dot: object, node: _Node) -> None:
        t = type(node)
        if t is _Text:
            self.out.append(node.text)  # type: ignore[attr-defined]
        elif t is _Action:
            val = self.eval_pipeline(dot, node.pipe)  # type: ignore[attr-defined]
            if not node.pipe.decl:  # type: ignore[attr-defined]
                self.out.append("<no value>" if val is NO_VALUE else format_value(val))
        elif t is _List:
            for n in node.nodes:  # type: ignore[attr-defined]
                self.walk(dot, n)
        elif t is _If or t is _With:
            self.walk_if_with(dot, node)  # type: ignore[arg-type]
        elif t is _Range:
            self.walk_range(dot, node)  # type: ignore[arg-type]
        elif t is _TemplateCall:
            self.walk_template(dot, node)  # type: ignore[arg-type]
        elif t is _BreakNode:
            raise _BreakSignal
        elif t is _ContinueNode:
            raise _ContinueSignal
        else:
            self.node = node
            self.error("unknown node: %s" % node)

    def walk_if_with(self, dot: object, node: _Branch) -> None:
        mark = len(self.vars)
        try:
            val = self.eval_pipeline(dot, node.pipe)
            if _truth(val):
                self.walk(val if type(node) is _With else dot, node.list)
            elif node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            del self.vars[mark:]

    def walk_range(self, dot: object, r: _Range) -> None:
        outer = len(self.vars)
        try:
            self.node = r
            val = self.eval_pipeline(dot, r.pipe)
            mark = len(self.vars)
            decl = r.pipe.decl

            def one(index: object, elem: object) -> None:
                if decl:
                    if r.pipe.is_assign:
                        if len(decl) > 1:
                            self.set_var(decl[0].idents[0], index)
                            self.set_var(decl[1].idents[0], elem)
                        else:
                            self.set_var(decl[0].idents[0], elem)
                    else:
                        self.vars[-1][1] = elem
                        if len(decl) > 1:
                            self.vars[-2][1] = index
                try:
                    self.walk(elem, r.list)
                except _ContinueSignal:
                    pass
                finally:
                    del self.vars[mark:]

            ran = False
            try:
                if isinstance(val, (list, tuple)):
                    for i, e in enumerate(val):
                        ran = True
                        one(i, e)
                elif isinstance(val, dict):
                    for k in _sorted_keys(val):
                        ran = True
                        one(k, val[k])
                elif isinstance(val, int) and not isinstance(val, bool):
                    if len(decl) > 1:
                        self.error("can't use %s to iterate over more than one variable" % val)
                    for i in range(val):
                        ran = True
                        one(i, i)
                elif val is None or val is NO_VALUE:
                    pass
                else:
                    self.error("range can't iterate over %s" % format_value(val))
            except _BreakSignal:
                pass
            if not ran and r.else_list is not None:
                self.walk(dot, r.else_list)
        finally:
            del self.vars[outer:]

    def walk_template(self, dot: object, t: _TemplateCall) -> None:
        self.node = t
        body = self.tmpl.defs.get(t.name)
        if body is None:
            self.error("template %s not defined" % go_quote(t.name))
        if self.depth >= _MAX_DEPTH:
            self.error("exceeded maximum template depth (%d)" % _MAX_DEPTH)
        newdot = self.eval_pipeline(dot, t.pipe) if t.pipe is not None else NO_VALUE
        sub = _State(self.tmpl, self.funcs, self.out, newdot, self.depth + 1, t.name)
        sub.walk(newdot, body)  # type: ignore[arg-type]

    # evaluation -----------------------------------------------------------
    def eval_pipeline(self, dot: object, pipe: _Pipe) -> object:
        self.node = pipe
        value: object = _MISSING
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
        for var in pipe.decl:
            if pipe.is_assign:
                self.set_var(var.idents[0], value)
            else:
                self.vars.append([var.idents[0], value])
        return value

    def not_a_function(self, args: list, final: object) -> None:
        if len(args) > 1 or final is not _MISSING:
            self.error("can't give argument to non-function %s" % args[0])

    def eval_command(self, dot: object, cmd: _Command, final: object) -> object:
        first = cmd.args[0]
        t = type(first)
        if t is _Field:
            return self.eval_field_node(dot, first, cmd.args, final)  # type: ignore[arg-type]
        if t is _Chain:
            return self.eval_chain(dot, first, cmd.args, final)  # type: ignore[arg-type]
        if t is _Identifier:
            return self.eval_function(dot, first, cmd, cmd.args, final)  # type: ignore[arg-type]
        if t is _Pipe:
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)  # type: ignore[arg-type]
        if t is _Variable:
            return self.eval_variable_node(dot, first, cmd.args, final)  # type: ignore[arg-type]
        self.node = first
        self.not_a_function(cmd.args, final)
        if t is _Bool:
            return first.value  # type: ignore[attr-defined]
        if t is _Number:
            return self.ideal_constant(first)  # type: ignore[arg-type]
        if t is _Dot:
            return dot
        if t is _Nil:
            self.error("nil is not a command")
        if t is _String:
            return first.text  # type: ignore[attr-defined]
        self.error("can't evaluate command %s" % first)
        return None

    def eval_field_node(self, dot: object, field: _Field, args: list | None, final: object) -> object:
        self.node = field
        return self.eval_field_chain(dot, dot, field, field.idents, args, final)

    def eval_chain(self, dot: object, chain: _Chain, args: list | None, final: object) -> object:
        self.node = chain
        if isinstance(chain.node, _Nil):
            self.error("indirection through explicit nil in %s" % chain)
        pipe = self.eval_arg(dot, "value", chain.node)
        return self.eval_field_chain(dot, pipe, chain, chain.fields, args, final)

    def eval_variable_node(self, dot: object, var: _Variable, args: list | None, final: object) -> object:
        self.node = var
        value = self.var_value(var.idents[0])
        if len(var.idents) == 1:
            self.not_a_function(args or [var], final)
            return value
        return self.eval_field_chain(dot, value, var, var.idents[1:], args, final)

    def eval_field_chain(
        self, dot: object, receiver: object, node: _Node, idents: list[str], args: list | None, final: object
    ) -> object:
        for name in idents[:-1]:
            receiver = self.eval_field(dot, name, node, None, _MISSING, receiver)
        return self.eval_field(dot, idents[-1], node, args, final, receiver)

    def eval_field(
        self, dot: object, name: str, node: _Node, args: list | None, final: object, receiver: object
    ) -> object:
        if receiver is NO_VALUE:
            return NO_VALUE
        if receiver is None:
            self.error("nil pointer evaluating interface {}.%s" % name)
        has_args = (args is not None and len(args) > 1) or final is not _MISSING
        if isinstance(receiver, dict):
            if type(receiver) is not dict and not name.startswith("_") and not hasattr(dict, name):
                method = getattr(receiver, name, None)
                if callable(method):
                    return self.eval_call(dot, _Fn(method, (), "any"), node, name, args, final)
            if has_args:
                self.error("%s is not a method but has arguments" % name)
            if name in receiver:
                return receiver[name]
            lname = name.lower()
            for k in receiver:
                if isinstance(k, str) and k.lower() == lname:
                    return receiver[k]
            if isinstance(receiver, Struct):
                self.error('map has no entry for key "%s"' % name)
            return NO_VALUE
        # Go reports field errors at whatever node was evaluated last.
        if isinstance(receiver, _NO_ATTR_TYPES) or name.startswith("_"):
            self.error("can't evaluate field %s in type %s" % (name, _go_type(receiver)))
        try:
            attr = getattr(receiver, name)
        except AttributeError:
            self.error("can't evaluate field %s in type %s" % (name, _go_type(receiver)))
        if callable(attr) and not isinstance(attr, type):
            return self.eval_call(dot, _Fn(attr, (), "any"), node, name, args, final)
        if has_args:
            self.error("%s has arguments but cannot be invoked as function" % name)
        return attr

    def eval_function(self, dot: object, ident: _Identifier, cmd: _Node, args: list | None, final: object) -> object:
        self.node = ident
        fn = self.funcs.get(ident.name)
        if fn is None:
            self.error("%s is not a defined function" % go_quote(ident.name))
        return self.eval_call(dot, fn, cmd, ident.name, args, final)  # type: ignore[arg-type]

    def eval_call(self, dot: object, fn: _Fn, node: _Node, name: str, args: list | None, final: object) -> object:
        argn = list(args[1:]) if args else []
        num_in = len(argn) + (0 if final is _MISSING else 1)
        params = fn.params
        if fn.variadic is not None:
            if num_in < len(params):
                self.error("wrong number of args for %s: want at least %d got %d" % (name, len(params), len(argn)))
        elif num_in != len(params):
            self.error("wrong number of args for %s: want %d got %d" % (name, len(params), num_in))

        if fn.short_circuit:
            want = fn.short_circuit == "or"
            v: object = _MISSING
            for a in argn:
                v = self.eval_arg(dot, "value", a)
                if _truth(v) == want:
                    return v
            if final is not _MISSING:
                v = final
            return v

        argv = []
        for i, a in enumerate(argn):
            typ = params[i] if i < len(params) else fn.variadic
            argv.append(self.eval_arg(dot, typ, a))  # type: ignore[arg-type]
        if final is not _MISSING:
            i = num_in - 1
            typ = params[i] if i < len(params) else fn.variadic
            argv.append(self.validate(final, typ))  # type: ignore[arg-type]
        try:
            return fn.fn(*argv)
        except TemplateError:
            raise
        except _FnError as e:
            self.node = node
            self.error("error calling %s: %s" % (name, e))
        except Exception as e:  # a Python method raising is Go's function returning an error
            self.node = node
            self.error("error calling %s: %s" % (name, e))
        return None

    def eval_arg(self, dot: object, typ: str, n: _Node) -> object:
        self.node = n
        t = type(n)
        if t is _Dot:
            v = dot
        elif t is _Nil:
            if typ in ("value", "any", "[]string"):
                return None
            self.error("cannot assign nil to %s" % typ)
            return None
        elif t is _Field:
            v = self.eval_field_node(dot, n, [n], _MISSING)  # type: ignore[arg-type]
        elif t is _Variable:
            v = self.eval_variable_node(dot, n, None, _MISSING)  # type: ignore[arg-type]
        elif t is _Pipe:
            v = self.eval_pipeline(dot, n)  # type: ignore[arg-type]
        elif t is _Identifier:
            v = self.eval_function(dot, n, n, None, _MISSING)  # type: ignore[arg-type]
        elif t is _Chain:
            v = self.eval_chain(dot, n, None, _MISSING)  # type: ignore[arg-type]
        else:
            # A literal: Go converts it to the parameter's type or complains.
            if typ in ("value", "any"):
                if t is _String:
                    return n.text  # type: ignore[attr-defined]
                if t is _Number:
                    return self.ideal_constant(n)  # type: ignore[arg-type]
                return n.value  # type: ignore[attr-defined]
            if typ == "string":
                if t is _String:
                    return n.text  # type: ignore[attr-defined]
                self.error("expected string; found %s" % n)
            elif typ == "int":
                if t is _Number and n.int_value is not None:  # type: ignore[attr-defined]
                    if not -(2**63) <= n.int_value < 2**63:  # type: ignore[attr-defined]
                        self.error("%s overflows int" % n)
                    return n.int_value  # type: ignore[attr-defined]
                self.error("expected integer; found %s" % n)
            elif typ == "bool":
                if t is _Bool:
                    return n.value  # type: ignore[attr-defined]
                self.error("expected bool; found %s" % n)
            self.error("can't handle %s for arg of type %s" % (n, typ))
        self.node = n
        return self.validate(v, typ)

    def ideal_constant(self, n: _Number) -> object:
        v = n.value
        if isinstance(v, int) and not -(2**63) <= v < 2**63:
            self.error("%s overflows int" % n)
        return v

    def validate(self, v: object, typ: str) -> object:
        if typ == "value":
            return v
        if typ == "any":
            return None if v is NO_VALUE else v
        if v is NO_VALUE or v is None:
            if typ == "[]string":
                return None
            self.error("invalid value; expected %s" % typ)
        if typ == "string":
            if isinstance(v, str):
                return v
        elif typ == "int":
            if isinstance(v, int) and not isinstance(v, bool):
                return v
        elif typ == "bool":
            if isinstance(v, bool):
                return v
        elif typ == "[]string":
            if isinstance(v, (list, tuple)):
                return v
        self.error("wrong type for value; expected %s; got %s" % (typ, _go_type(v)))
        return None
