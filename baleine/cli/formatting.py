"""Human-readable values and tables, printed exactly as the docker CLI prints them.

Sources mirrored: docker/go-units (``HumanSizeWithPrecision``, ``BytesSize``,
``HumanDuration``), moby's ``container.State.String()`` (the STATUS column),
docker/cli ``formatter.DisplayablePorts`` (the PORTS column), ``TruncateID``,
``Ellipsis``, and docker/cli's fork of Go's ``text/tabwriter`` as docker
configures it (``tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)``).

Everything here is a pure function of its arguments; "now" is a parameter
(seconds since the epoch) so tests need no clock.
"""

from __future__ import annotations

__all__ = [
    "CONTAINER_HEADERS",
    "DEFAULT_CONTAINER_FORMAT",
    "DEFAULT_HISTORY_FORMAT",
    "DEFAULT_HISTORY_FORMAT_NON_HUMAN",
    "DEFAULT_IMAGE_DIGEST_FORMAT",
    "DEFAULT_IMAGE_FORMAT",
    "DEFAULT_NETWORK_FORMAT",
    "DEFAULT_STATS_FORMAT",
    "DEFAULT_VOLUME_FORMAT",
    "DISK_USAGE_HEADERS",
    "HISTORY_HEADERS",
    "IMAGE_HEADERS",
    "NETWORK_HEADERS",
    "STATS_HEADERS",
    "VOLUME_HEADERS",
    "Table",
    "bytes_size",
    "container_status",
    "display_width",
    "ellipsis",
    "format_list",
    "format_percentage",
    "go_quote",
    "human_duration",
    "human_size",
    "parse_timestamp",
    "ports_string",
    "render_table_template",
    "tabwrite",
    "time_ago",
    "truncate_id",
]



def _templates():  # noqa: ANN202 - the module
    # Imported on first use: sizes and durations should not pay for the template engine.
    from baleine import gotemplate

    return gotemplate


def go_quote(s: str) -> str:
    """Go's ``strconv.Quote`` (docker quotes the COMMAND column with it)."""
    return _templates().go_quote(s)

# --------------------------------------------------------------------------
# Header texts (docker/cli cli/command/formatter/*.go and the per-command
# formatters).  Keys are the template field names.

#: ``docker ps`` (formatter/container.go).
CONTAINER_HEADERS: dict[str, str] = {
    "ID": "CONTAINER ID",
    "Names": "NAMES",
    "Image": "IMAGE",
    "Command": "COMMAND",
    "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED",
    "Ports": "PORTS",
    "State": "STATE",
    "Status": "STATUS",
    "Size": "SIZE",
    "Labels": "LABELS",
    "Mounts": "MOUNTS",
    "LocalVolumes": "LOCAL VOLUMES",
    "Networks": "NETWORKS",
    "Platform": "PLATFORM",
    "HealthStatus": "HEALTH STATUS",
    "IPAddresses": "IP ADDRESSES",
}

#: ``docker images`` (formatter/image.go, disk_usage.go).
IMAGE_HEADERS: dict[str, str] = {
    "ID": "IMAGE ID",
    "Repository": "REPOSITORY",
    "Tag": "TAG",
    "Digest": "DIGEST",
    "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT",
    "Size": "SIZE",
    "Containers": "CONTAINERS",
    "VirtualSize": "SIZE",
    "SharedSize": "SHARED SIZE",
    "UniqueSize": "UNIQUE SIZE",
}

#: ``docker history`` (formatter/history.go).
HISTORY_HEADERS: dict[str, str] = {
    "ID": "IMAGE",
    "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT",
    "CreatedBy": "CREATED BY",
    "Size": "SIZE",
    "Comment": "COMMENT",
}

#: ``docker stats`` on Linux (container/formatter_stats.go).
STATS_HEADERS: dict[str, str] = {
    "Container": "CONTAINER",
    "Name": "NAME",
    "ID": "CONTAINER ID",
    "CPUPerc": "CPU %",
    "MemUsage": "MEM USAGE / LIMIT",
    "MemPerc": "MEM %",
    "NetIO": "NET I/O",
    "BlockIO": "BLOCK I/O",
    "PIDs": "PIDS",
}

#: ``docker volume ls`` (formatter/volume.go).
VOLUME_HEADERS: dict[str, str] = {
    "ID": "ID",
    "Name": "VOLUME NAME",
    "Group": "GROUP",
    "Driver": "DRIVER",
    "Scope": "SCOPE",
    "Availability": "AVAILABILITY",
    "Mountpoint": "MOUNTPOINT",
    "Labels": "LABELS",
    "Links": "LINKS",
    "Size": "SIZE",
    "Status": "STATUS",
}

#: ``docker network ls`` (network/formatter.go).
NETWORK_HEADERS: dict[str, str] = {
    "ID": "NETWORK ID",
    "Name": "NAME",
    "Driver": "DRIVER",
    "Scope": "SCOPE",
    "IPv4": "IPV4",
    "IPv6": "IPV6",
    "Internal": "INTERNAL",
    "Labels": "LABELS",
    "CreatedAt": "CREATED AT",
}

#: ``docker system df`` summary (formatter/disk_usage.go).
DISK_USAGE_HEADERS: dict[str, str] = {
    "Type": "TYPE",
    "TotalCount": "TOTAL",
    "Active": "ACTIVE",
    "Size": "SIZE",
    "Reclaimable": "RECLAIMABLE",
}

# Default table formats, without the leading "table " (pass them to
# render_table_template or as format_list's default).
DEFAULT_CONTAINER_FORMAT = "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
DEFAULT_IMAGE_FORMAT = (
    "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}"
)
DEFAULT_IMAGE_DIGEST_FORMAT = (
    "{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t"
    "{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}"
)
DEFAULT_HISTORY_FORMAT = "{{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
DEFAULT_HISTORY_FORMAT_NON_HUMAN = "{{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
DEFAULT_STATS_FORMAT = (
    "{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"
)
DEFAULT_VOLUME_FORMAT = "{{.Driver}}\t{{.Name}}"
DEFAULT_NETWORK_FORMAT = "{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"

# --------------------------------------------------------------------------
# Sizes (go-units size.go)

_DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def _size_and_unit(size: float, base: float, units: tuple[str, ...]) -> tuple[float, str]:
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return size, units[i]


def human_size(n: int | float, precision: int = 3) -> str:
    """go-units ``HumanSizeWithPrecision(n, precision)``: decimal units, no space.

    ``2150000 -> "2.15MB"``, ``0 -> "0B"``, ``999500 -> "1e+03kB"`` (sic, like
    docker).  Docker uses precision 3 for ``ps``/``images``/``history``/``stats``
    and 4 (``units.HumanSize``) for ``system df`` and volume sizes.
    """
    size, unit = _size_and_unit(float(n), 1000.0, _DECIMAL_UNITS)
    return "%.*g%s" % (precision, size, unit)


def bytes_size(n: int | float) -> str:
    """go-units ``BytesSize``: binary units, 4 significant digits (``"1.953GiB"``)."""
    size, unit = _size_and_unit(float(n), 1024.0, _BINARY_UNITS)
    return "%.4g%s" % (size, unit)


def format_percentage(value: float) -> str:
    """``docker stats``' percentage: two decimals and ``%`` (``"0.25%"``)."""
    return "%.2f%%" % value


# --------------------------------------------------------------------------
# Durations and timestamps (go-units duration.go)


def human_duration(seconds: float) -> str:
    """go-units ``HumanDuration``: ``"Less than a second"``, ``"2 minutes"``, ...

    Thresholds: seconds below 60, minutes below 60, then hours rounded to the
    nearest hour ("About an hour" for 1), days from 48 hours, weeks from 14
    days, months (30 days) from 60 days, years (365 days) from 730 days.
    Negative durations read "Less than a second".
    """
    secs = int(seconds)
    if secs < 1:
        return "Less than a second"
    if secs == 1:
        return "1 second"
    if secs < 60:
        return "%d seconds" % secs
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return "%d minutes" % minutes
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return "%d hours" % hours
    if hours < 24 * 7 * 2:
        return "%d days" % (hours // 24)
    if hours < 24 * 30 * 2:
        return "%d weeks" % (hours // 24 // 7)
    if hours < 24 * 365 * 2:
        return "%d months" % (hours // 24 // 30)
    return "%d years" % (int(seconds / 3600) // 24 // 365)


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


#: ``0001-01-01T00:00:00Z``, Go's zero ``time.Time`` as seconds since the epoch.
ZERO_TIME = float(_days_from_civil(1, 1, 1) * 86400)


def parse_timestamp(ts: str | int | float) -> float:
    """Seconds since the epoch of an RFC 3339 timestamp, as the Engine API sends them.

    Accepts ``2024-01-02T03:04:05Z``, up to 9 fractional digits
    (``...05.123456789Z``) and ``+hh:mm`` / ``-hh:mm`` offsets; numbers are
    returned as they are.  Raises ``ValueError`` for anything else.
    """
    if isinstance(ts, (int, float)) and not isinstance(ts, bool):
        return float(ts)
    if not isinstance(ts, str):
        raise ValueError("invalid timestamp: %r" % (ts,))
    s = ts.strip()
    try:
        if len(s) < 20 or s[4] != "-" or s[7] != "-" or s[10] not in "Tt " or s[13] != ":" or s[16] != ":":
            raise ValueError
        year, month, day = int(s[0:4]), int(s[5:7]), int(s[8:10])
        hour, minute, sec = int(s[11:13]), int(s[14:16]), int(s[17:19])
        if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and sec < 61):
            raise ValueError
        i = 19
        frac = 0.0
        if s[i] == ".":
            j = i + 1
            while j < len(s) and s[j].isdigit():
                j += 1
            digits = s[i + 1 : j]
            if not 1 <= len(digits) <= 9:
                raise ValueError
            frac = int(digits) / 10 ** len(digits)
            i = j
        rest = s[i:]
        if rest in ("Z", "z"):
            offset = 0
        elif len(rest) == 6 and rest[0] in "+-" and rest[3] == ":":
            offset = int(rest[1:3]) * 3600 + int(rest[4:6]) * 60
            if rest[0] == "-":
                offset = -offset
        else:
            raise ValueError
    except (ValueError, IndexError):
        raise ValueError("invalid timestamp: %r" % (ts,)) from None
    days = _days_from_civil(year, month, day)
    return days * 86400 + hour * 3600 + minute * 60 + sec - offset + frac


def _now(now: float | None) -> float:
    if now is not None:
        return now
    import time  # cheap builtin module, only needed when the caller passes no clock

    return time.time()


def time_ago(ts: str | int | float, now: float | None = None) -> str:
    """``human_duration(now - ts) + " ago"``, e.g. ``"5 seconds ago"``.

    ``ts`` is an RFC 3339 string or seconds since the epoch; ``now`` defaults to
    the current time.  Raises ``ValueError`` for an unparsable timestamp.
    """
    return human_duration(_now(now) - parse_timestamp(ts)) + " ago"


_STATE_WORDS = {"created", "running", "paused", "restarting", "removing", "exited", "dead"}


def _is_zero_time(v: object) -> bool:
    if v is None or v == "" or v == 0:
        return True
    try:
        return parse_timestamp(v) <= ZERO_TIME  # type: ignore[arg-type]
    except ValueError:
        return True


def container_status(state: dict, now: float | None = None) -> str:
    """The STATUS column of ``docker ps`` (moby's ``State.String()``).

    ``state`` is either an inspect-style ``State`` object (``Running``,
    ``Paused``, ``Restarting``, ``Dead``, ``Status``, ``ExitCode``,
    ``StartedAt``, ``FinishedAt``, ``Health``) or a ``/containers/json`` entry;
    for the latter a daemon-computed ``Status`` text is returned unchanged, and
    otherwise the lower-case ``State`` word and any timestamps present are used.

    Results: ``"Up 5 seconds"``, ``"Up 5 seconds (healthy)"``,
    ``"Up 2 minutes (health: starting)"``, ``"Up 2 minutes (Paused)"``,
    ``"Restarting (1) 2 seconds ago"``, ``"Removal In Progress"``, ``"Dead"``,
    ``"Created"``, ``"Exited (0) 3 seconds ago"`` -- or ``""`` for a stopped
    container without a finish time, like moby.
    """
    word = state.get("Status")
    if isinstance(state.get("State"), str):
        # A /containers/json entry: "State" is the word, "Status" the sentence.
        if isinstance(word, str) and word and word not in _STATE_WORDS:
            return word
        word = state["State"]
    word = word.lower() if isinstance(word, str) else ""

    running = state.get("Running")
    if running is None:
        running = word in ("running", "paused", "restarting")
    paused = bool(state.get("Paused")) or word == "paused"
    restarting = bool(state.get("Restarting")) or word == "restarting"
    removing = bool(state.get("RemovalInProgress")) or word == "removing"
    dead = bool(state.get("Dead")) or word == "dead"
    exit_code = state.get("ExitCode") or 0
    started = state.get("StartedAt")
    finished = state.get("FinishedAt")

    def since(ts: object) -> str:
        if _is_zero_time(ts):
            return human_duration(_now(now) - ZERO_TIME)
        return human_duration(_now(now) - parse_timestamp(ts))  # type: ignore[arg-type]

    if running:
        if paused:
            return "Up %s (Paused)" % since(started)
        if restarting:
            return "Restarting (%d) %s ago" % (exit_code, since(finished))
        health = state.get("Health")
        if isinstance(health, dict) and health.get("Status"):
            h = health["Status"]
            return "Up %s (%s)" % (since(started), "health: starting" if h == "starting" else h)
        return "Up %s" % since(started)
    if removing:
        return "Removal In Progress"
    if dead:
        return "Dead"
    # Only a never-started container is "Created"; a list entry without
    # timestamps keeps the state word it has.
    if word == "created" or (_is_zero_time(started) and ("StartedAt" in state or not word)):
        return "Created"
    if _is_zero_time(finished):
        return ""
    return "Exited (%d) %s ago" % (exit_code, since(finished))


# --------------------------------------------------------------------------
# PORTS column (formatter.DisplayablePorts)


def _join_host_port(host: str, port: object) -> str:
    if ":" in host:
        return "[%s]:%s" % (host, port)
    return "%s:%s" % (host, port)


def _form_group(key: str, start: int, last: int, bracket_ipv6: bool) -> str:
    ip, sep, typ = key.rpartition("/")
    group = str(start) if start == last else "%d-%d" % (start, last)
    if sep and ip:
        host = _join_host_port(ip, group) if bracket_ipv6 else "%s:%s" % (ip, group)
        group = "%s->%s" % (host, group)
    return group + "/" + typ


def ports_string(ports: list[dict] | None, *, bracket_ipv6: bool = True) -> str:
    """The PORTS column of ``docker ps`` from the API's ``Ports`` entries.

    Entries are ``{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080,
    "Type": "tcp"}`` (``IP``/``PublicPort`` absent when not published).  Like
    docker: sorted by private port, IP, public port and type; consecutive
    unpublished ports, and consecutive ports published on the same host port,
    collapse into ranges (``"80-81/tcp"``, ``"0.0.0.0:80-81->80-81/tcp"``);
    mappings to another host port follow as ``"0.0.0.0:8080->80/tcp"``.  IPv6
    addresses are bracketed (``"[::]:8080->80/tcp"``) as docker 28+ prints
    them; ``bracket_ipv6=False`` gives the older ``":::8080->80/tcp"``.
    """
    if not ports:
        return ""

    def key(p: dict) -> tuple:
        return (int(p.get("PrivatePort") or 0), p.get("IP") or "", int(p.get("PublicPort") or 0), p.get("Type") or "")

    groups: dict[str, list[int]] = {}
    order: list[str] = []
    result: list[str] = []
    host_mappings: list[str] = []
    for p in sorted(ports, key=key):
        current = int(p.get("PrivatePort") or 0)
        public = int(p.get("PublicPort") or 0)
        typ = p.get("Type") or ""
        ip = p.get("IP") or ""
        port_key = typ
        if ip:
            if public != current:
                host = _join_host_port(ip, public) if bracket_ipv6 else "%s:%d" % (ip, public)
                host_mappings.append("%s->%d/%s" % (host, current, typ))
                continue
            port_key = ip + "/" + typ
        group = groups.get(port_key)
        if group is None:
            groups[port_key] = [current, current]
            order.append(port_key)
            continue
        if current == group[1] + 1:
            group[1] = current
            continue
        result.append(_form_group(port_key, group[0], group[1], bracket_ipv6))
        groups[port_key] = [current, current]
    for port_key in order:
        first, last = groups[port_key]
        result.append(_form_group(port_key, first, last, bracket_ipv6))
    result.extend(host_mappings)
    return ", ".join(result)


# --------------------------------------------------------------------------
# IDs and text widths


def truncate_id(id: str, no_trunc: bool = False) -> str:  # noqa: A002 - docker's name
    """docker's ``TruncateID``: drop an algorithm prefix (``sha256:``) and keep 12 characters.

    With ``no_trunc`` the ID is returned unchanged (docker prints
    ``sha256:...`` in full then).
    """
    if no_trunc:
        return id
    i = id.find(":")
    if i >= 0:
        id = id[i + 1 :]
    return id[:12]


def _east_asian_wide(ch: str) -> bool:
    import unicodedata  # C extension, only loaded for non-ASCII text

    return unicodedata.east_asian_width(ch) in ("W", "F")


def display_width(s: str) -> int:
    """Terminal columns taken by ``s``, as go-runewidth counts them for the tabwriter.

    East Asian wide and full-width characters count 2, combining marks and
    format characters 0, everything else 1.
    """
    if s.isascii():
        return len(s)
    import unicodedata

    w = 0
    for ch in s:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        w += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return w


def ellipsis(s: str, max_width: int) -> str:
    """docker's ``formatter.Ellipsis``: cut ``s`` to ``max_width`` columns ending in ``…``.

    Wide characters count 2 columns.  ``max_width <= 0`` gives ``""``;
    ``max_width == 1`` gives the first character without an ellipsis.
    """
    if max_width <= 0:
        return ""
    if max_width == 1:
        return s[:1]
    if s.isascii():
        if len(s) <= max_width:
            return s
        return s[: max_width - 1] + "…"
    display = []
    total = 0
    for ch in s:
        total += 2 if _east_asian_wide(ch) else 1
        display.append(total)
    if total <= max_width:
        return s
    for i in range(len(display) - 1):
        if display[i] <= max_width - 1 < display[i + 1]:
            return s[: i + 1] + "…"
    return s


# --------------------------------------------------------------------------
# Tables (docker/cli's fork of text/tabwriter)


def tabwrite(
    text: str,
    minwidth: int = 10,
    tabwidth: int = 1,
    padding: int = 3,
    padchar: str = " ",
    align_right: bool = False,
) -> str:
    """Align tab-terminated cells like Go's ``tabwriter`` (elastic tabstops).

    Defaults are docker's: ``NewWriter(out, 10, 1, 3, ' ', 0)``.  Cells are
    terminated by ``\\t`` (or ``\\v``); lines by ``\\n`` (or ``\\f``).  A
    column is a run of consecutive lines having a cell there; its width is the
    widest cell plus ``padding``, at least ``minwidth``.  Text after the last
    tab of a line is not part of a column and is not padded.  ``tabwidth`` only
    matters for a tab ``padchar``, which is not supported.
    """
    if padchar == "\t":
        raise ValueError("tab padding is not supported")
    lines: list[list[tuple[str, int]]] = [[]]
    start = 0
    for i, ch in enumerate(text):
        if ch in "\t\v\n\f":
            cell = text[start:i]
            lines[-1].append((cell, display_width(cell)))
            start = i + 1
            if ch in "\n\f":
                lines.append([])
    trailing = text[start:]
    if trailing:
        lines[-1].append((trailing, display_width(trailing)))

    out: list[str] = []
    widths: list[int] = []
    nlines = len(lines)

    def write_lines(line0: int, line1: int) -> None:
        for i in range(line0, line1):
            line = lines[i]
            for j, (cell, width) in enumerate(line):
                if j < len(widths):
                    pad = padchar * (widths[j] - width)
                    out.append(pad + cell if align_right else cell + pad)
                else:
                    out.append(cell)
            if i + 1 < nlines:
                out.append("\n")

    def format(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            # A cell exists in this column: print the lines before the block,
            # then find the block's extent and width.
            write_lines(line0, this)
            line0 = this
            width = minwidth
            while this < line1:
                line = lines[this]
                if column >= len(line) - 1:
                    break
                w = line[column][1] + padding
                if w > width:
                    width = w
                this += 1
            widths.append(width)
            format(line0, this)
            widths.pop()
            line0 = this
        write_lines(line0, line1)

    format(0, nlines)
    return "".join(out)


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    return _templates().format_value(v)


class Table:
    """Rows of cells rendered like docker's tables.

    >>> t = Table(["CONTAINER ID", "NAMES"])
    >>> t.add_row(["0123456789ab", "web"])
    >>> print(t.render(), end="")
    CONTAINER ID   NAMES
    0123456789ab   web

    Cells are converted with Go's ``%v`` rules (``None`` becomes empty); they
    must not contain tabs or newlines (docker does not escape them either).
    ``render`` returns every line newline-terminated, or ``""`` for an empty
    table without headers.
    """

    def __init__(self, headers: list[str] | tuple[str, ...] | None = None, *, minwidth: int = 10, padding: int = 3):
        self.headers = list(headers) if headers is not None else None
        self.rows: list[list[str]] = []
        self.minwidth = minwidth
        self.padding = padding

    def add_row(self, cells) -> None:  # noqa: ANN001 - any iterable of values
        """Append one row; ``cells`` is an iterable of values."""
        self.rows.append([_cell(c) for c in cells])

    def __len__(self) -> int:
        return len(self.rows)

    def render(self) -> str:
        """The aligned table as a string."""
        lines = []
        if self.headers is not None:
            lines.append("\t".join(self.headers))
        lines.extend("\t".join(r) for r in self.rows)
        if not lines:
            return ""
        return tabwrite("\n".join(lines) + "\n", minwidth=self.minwidth, padding=self.padding)


def _row_funcs(row: object) -> dict:
    """Docker's ``json`` as list commands see it.

    The row itself is a Go struct marshalled through ``json.Marshal`` of a map
    (HTML-escaped, keys sorted: what ``--format json`` prints); any other value
    goes through docker's encoder, which does not escape HTML.
    """

    gotemplate = _templates()

    def json_(v: object) -> str:
        try:
            if v is row:
                return gotemplate.go_json(v, escape_html=True, sort_keys=True)
            return gotemplate.go_json(v, escape_html=False)
        except ValueError:
            return ""

    return {"json": json_}


class _RowContext(dict):
    """A dict row that also answers ``{{.Label "name"}}`` like docker's row contexts.

    The labels come from the row's ``Labels``: a dict of raw labels, or docker's
    display form ``"k=v,k2=v2"``.
    """

    def Label(self, name: str) -> str:  # noqa: N802 - Go method name
        labels = self.get("Labels")
        if isinstance(labels, dict):
            v = labels.get(name, "")
            return v if isinstance(v, str) else _templates().format_value(v)
        if isinstance(labels, str) and labels:
            for item in labels.split(","):
                k, _, v = item.partition("=")
                if k == name:
                    return v
        return ""


def _row(row: object) -> object:
    return _RowContext(row) if type(row) is dict else row


class _HeaderContext(dict):
    """Docker's ``SubHeaderContext``: the header map, plus ``.Label "a.b-c"`` -> ``"b c"``."""

    def Label(self, name: str) -> str:  # noqa: N802 - Go method name
        return str(name).split(".")[-1].replace("-", " ").replace("_", " ")


def render_table_template(fmt_after_table: str, rows, headers: dict[str, str]) -> str:  # noqa: ANN001
    """Docker's ``--format 'table ...'`` output: header line, one line per row, aligned.

    ``fmt_after_table`` is the template after ``table`` as returned by
    :func:`~baleine.gotemplate.parse_format` (tabs already real tabs).  The
    header is the template rendered over ``headers`` (field name -> header text,
    e.g. :data:`CONTAINER_HEADERS`) with docker's header functions, so
    ``{{upper .Names}}`` still reads ``NAMES``; then each row (a dict or object)
    is rendered, and everything goes through :func:`tabwrite`.  Dict rows also
    answer ``{{.Label "name"}}`` from their ``Labels`` (a dict, or docker's
    ``"k=v,k2=v2"``), whose header is the last dotted part of the name.  Raises
    :class:`~baleine.gotemplate.TemplateError`.
    """
    gotemplate = _templates()
    tmpl = gotemplate.compile(fmt_after_table)
    # Docker ignores errors while printing the header and keeps what was written.
    parts = [tmpl.render(_HeaderContext(headers), funcs=gotemplate.HEADER_FUNCS, ignore_errors=True), "\n"]
    for row in rows:
        row = _row(row)
        parts.append(tmpl.render(row, funcs=_row_funcs(row)))
        parts.append("\n")
    return tabwrite("".join(parts))


def format_list(fmt: str | None, rows, headers: dict[str, str], default: str) -> str:  # noqa: ANN001
    """Render list output for a ``--format`` value the way docker's formatter does.

    ``default`` is the command's default table template (with or without the
    ``table`` prefix), used for no format / ``table``.  Table formats go through
    :func:`render_table_template`; ``json`` and custom formats print one rendered
    line per row.  As in docker, ``{{json .}}`` (and ``--format json``) prints the
    row with sorted keys and ``<>&`` escaped, while ``{{json .Field}}`` does not
    escape.  Raises :class:`~baleine.gotemplate.TemplateError`.
    """
    gotemplate = _templates()
    is_table, tmpl = gotemplate.parse_format(fmt)
    if is_table:
        if tmpl is None:
            _, tmpl = gotemplate.parse_format(default if default.startswith("table") else "table " + default)
        return render_table_template(tmpl or "", rows, headers)
    assert tmpl is not None
    t = gotemplate.compile(tmpl)
    out = []
    for row in rows:
        row = _row(row)
        out.append(t.render(row, funcs=_row_funcs(row)))
        out.append("\n")
    return "".join(out)
