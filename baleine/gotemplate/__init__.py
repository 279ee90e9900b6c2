"""Go ``text/template``, the subset docker's CLI ``--format`` relies on.

Docker renders ``--format`` strings with Go's ``text/template`` plus a few extra
functions (``json``, ``split``, ``join``, ``title``, ``lower``, ``upper``,
``pad``, ``truncate``; see docker/cli ``templates/templates.go``).  This package
reimplements that engine in pure Python so that ``baleine ps --format ...``
prints byte-for-byte what ``docker ps --format ...`` prints.

Supported: text and ``{{ }}`` actions with ``{{-`` / ``-}}`` trim markers,
comments, ``.``, ``.Field.Chains``, ``$`` and ``$variables`` (``:=`` and ``=``),
pipelines, parenthesised pipelines, ``if / else if / else``, ``range`` (lists,
maps in sorted key order, integers; ``$i, $v :=``; ``else``; ``break`` and
``continue``), ``with / else with``, ``define`` / ``template`` / ``block``, the
Go builtins (``and or not len index slice eq ne lt le gt ge print printf
println html js urlquery call``) and docker's functions.

Data model: ``data`` is JSON-like Python data whose keys are Docker's Go field
names.  ``.Field`` on a ``dict`` looks the key up exactly, then
case-insensitively; a missing key yields Go's "no value" (printed
``<no value>``), like Go does for maps.  On other objects ``.Field`` reads the
attribute; a callable attribute is called with the arguments, like a Go method
(this is how a header context offers ``.Label "name"``).  ``dict`` subclasses may
define methods the same way.  Values print like Go's ``fmt`` ``%v``: ``None`` as
``<nil>``, booleans as ``true``/``false``, lists as ``[a b]``, dicts as
``map[k:v]`` with sorted keys, floats with Go's shortest formatting.

Errors (parse and execution) raise :class:`TemplateError` with Go's wording,
e.g. ``template: :1: function "foo" not defined`` or ``template: :1:2:
executing "" at <.Foo>: ...``.  Docker's CLI prefixes these with ``template
parsing error: ``; that is the caller's business.

``json`` encodes like ``json.Marshal`` (HTML-escaped, keys in the dict's
order); :data:`INSPECT_FUNCS` gives docker's non-escaping variant, and
``formatting.format_list`` reproduces the list commands' exact behaviour.

Known differences from Go, all deliberate: a ``dict`` stands for both Go maps
and structs, so a missing field prints ``<no value>`` where a Go struct would
fail, and prints as ``map[...]`` where a struct prints ``{...}``; ``truncate``
and ``printf`` precision count characters (Go counts bytes; identical for
ASCII); complex numbers are not supported.

Layout, one idea per module: ``lexer`` (tokens), ``literals`` (Go string and
number literals), ``nodes`` and ``parser`` (the tree), ``functions`` (builtins and
docker's), ``execution`` (walking the tree), ``gofmt`` (Go's ``fmt`` and
``encoding/json`` value printing), ``values`` (errors and sentinels); this module
is the public API.
"""

from __future__ import annotations

from .values import NO_VALUE, Struct, TemplateError

# Annotations only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from .functions import _Fn
    from .nodes import _List

# The engine's modules load on first use (PEP 562): ``baleine ps -q`` imports this
# package but renders no template, and the CLI's start-up time is benchmarked.
_LAZY = {
    "DEFAULT_FUNCS": "functions", "HEADER_FUNCS": "functions", "INSPECT_FUNCS": "functions",
    "format_value": "gofmt", "go_json": "gofmt", "go_quote": "gofmt", "go_sprint": "gofmt",
    "go_sprintf": "gofmt", "go_sprintln": "gofmt",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value

__all__ = [
    "JSON_FORMAT",
    "NO_VALUE",
    "Struct",
    "DEFAULT_FUNCS",
    "HEADER_FUNCS",
    "INSPECT_FUNCS",
    "Template",
    "TemplateError",
    "compile",
    "format_value",
    "go_json",
    "go_quote",
    "go_sprint",
    "go_sprintf",
    "go_sprintln",
    "parse_format",
    "render",
]

#: What :func:`parse_format` returns for ``--format json``: docker 24+ prints one
#: JSON object per line, i.e. exactly this template applied to every item.
JSON_FORMAT = "{{json .}}"


class Template:
    """A parsed template.  Build with :func:`compile`; render with :meth:`render`."""

    __slots__ = ("text", "name", "root", "defs", "funcs")

    def __init__(self, text: str, name: str, root: _List, defs: dict[str, _List], funcs: dict[str, _Fn]) -> None:
        self.text = text
        self.name = name
        self.root = root
        self.defs = defs
        self.funcs = funcs

    def render(self, data: object, *, funcs: dict | None = None, ignore_errors: bool = False) -> str:
        """Execute the template with ``data`` as ``.`` and ``$``; return the output.

        ``funcs`` overrides functions by name for this execution (for example
        :data:`HEADER_FUNCS` when printing a table header).  Raises
        :class:`TemplateError` on execution errors, unless ``ignore_errors``:
        then the output written before the error is returned, which is what
        docker prints for a table header whose template fails.
        """
        from .execution import _BreakSignal, _ContinueSignal, _State
        from .functions import _as_fn

        table = self.funcs
        if funcs:
            table = dict(table)
            for k, f in funcs.items():
                table[k] = _as_fn(f)
        out: list[str] = []
        state = _State(self, table, out, data)
        try:
            state.walk(data, self.root)
        except (_BreakSignal, _ContinueSignal):  # pragma: no cover - the parser forbids these
            pass
        except TemplateError:
            if not ignore_errors:
                raise
        except RecursionError:
            if not ignore_errors:
                raise TemplateError("template: %s: exceeded maximum template depth" % self.name) from None
        return "".join(out)

    def __repr__(self) -> str:
        return "Template(%r)" % self.text


def compile(template: str, *, name: str = "", funcs: dict | None = None) -> Template:  # noqa: A001 - mirrors re.compile
    """Parse ``template`` once; raise :class:`TemplateError` on a syntax error.

    ``funcs`` adds or replaces functions (plain Python callables receive the
    evaluated arguments, missing values as ``None``).  ``name`` is the template
    name shown in messages; docker's is empty (``template: :1: ...``).
    """
    from .functions import DEFAULT_FUNCS, _as_fn
    from .parser import _Parser

    table = DEFAULT_FUNCS
    if funcs:
        table = dict(DEFAULT_FUNCS)
        for k, f in funcs.items():
            table[k] = _as_fn(f)
    parser = _Parser(template, name, table)
    root = parser.parse()
    return Template(template, name, root, parser.defs, table)


_CACHE: dict[str, Template] = {}


def render(template: str, data: object, *, funcs: dict | None = None) -> str:
    """Render ``template`` with ``data``; parsed templates are cached.

    ``funcs`` adds or replaces functions (see :func:`compile`).  Raises
    :class:`TemplateError` for parse and execution errors.
    """
    if funcs:
        return compile(template, funcs=funcs).render(data)
    t = _CACHE.get(template)
    if t is None:
        t = compile(template)
        if len(_CACHE) >= 128:
            _CACHE.clear()
        _CACHE[template] = t
    return t.render(data)


def parse_format(fmt: str | None) -> tuple[bool, str | None]:
    """Interpret a docker ``--format`` value the way ``formatter.Context`` does.

    Returns ``(is_table, template)``:

    - ``None``, ``""`` or ``"table"`` -> ``(True, None)``: print the command's
      default table;
    - ``"table <tmpl>"`` (any value starting with ``table``) -> ``(True, tmpl)``;
    - ``"json"`` -> ``(False, JSON_FORMAT)``: one JSON object per line, the
      marker being the template ``{{json .}}`` itself;
    - anything else -> ``(False, fmt)``: one rendered line per item.

    As docker does, spaces around the template are trimmed and the two-character
    sequences ``\\t`` and ``\\n`` are replaced by a tab and a newline.
    """
    if fmt is None or fmt == "" or fmt == "table":
        return True, None
    if fmt == "json":
        return False, JSON_FORMAT
    is_table = fmt.startswith("table")
    if is_table:
        fmt = fmt[len("table") :]
    fmt = fmt.strip(" ").replace("\\t", "\t").replace("\\n", "\n")
    if is_table and fmt == "":
        return True, None
    return is_table, fmt
