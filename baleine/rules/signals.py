"""Signal names and numbers as Docker understands them (moby/sys/signal, Linux).

``docker kill --signal``, ``--stop-signal`` and the image ``StopSignal`` accept a
number (``"15"``), a name with or without ``SIG`` in any case (``"SIGTERM"``,
``"term"``), or a real-time signal relative to its bounds (``"SIGRTMIN+3"``,
``"RTMAX-1"``). Numbers are the generic Linux ones (x86_64, arm64), as in
moby's ``SignalMap``; no ``signal`` module is imported so the CLI stays light.
"""

from __future__ import annotations

from baleine.rules.errors import InvalidParameter

__all__ = [
    "SIGNAL_MAP",
    "SIGRTMAX",
    "SIGRTMIN",
    "parse_signal",
    "signal_name",
    "valid_signal_for_platform",
    "validate_signal",
]

SIGRTMIN = 34
SIGRTMAX = 64

#: Name (without "SIG") → number; moby/sys/signal ``SignalMap`` for Linux.
SIGNAL_MAP: dict[str, int] = {
    "ABRT": 6,
    "ALRM": 14,
    "BUS": 7,
    "CHLD": 17,
    "CLD": 17,
    "CONT": 18,
    "FPE": 8,
    "HUP": 1,
    "ILL": 4,
    "INT": 2,
    "IO": 29,
    "IOT": 6,
    "KILL": 9,
    "PIPE": 13,
    "POLL": 29,
    "PROF": 27,
    "PWR": 30,
    "QUIT": 3,
    "SEGV": 11,
    "STKFLT": 16,
    "STOP": 19,
    "SYS": 31,
    "TERM": 15,
    "TRAP": 5,
    "TSTP": 20,
    "TTIN": 21,
    "TTOU": 22,
    "URG": 23,
    "USR1": 10,
    "USR2": 12,
    "VTALRM": 26,
    "WINCH": 28,
    "XCPU": 24,
    "XFSZ": 25,
    "RTMIN": SIGRTMIN,
    **{f"RTMIN+{i}": SIGRTMIN + i for i in range(1, 16)},
    **{f"RTMAX-{i}": SIGRTMAX - i for i in range(14, 0, -1)},
    "RTMAX": SIGRTMAX,
}

# Preferred name of each number where SIGNAL_MAP has aliases.
_ALIASES = {"CLD", "IOT", "POLL"}
_NAMES: dict[int, str] = {num: "SIG" + name for name, num in SIGNAL_MAP.items() if name not in _ALIASES}
_VALID_NUMBERS = frozenset(SIGNAL_MAP.values())
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


def _invalid(raw: object) -> InvalidParameter:
    return InvalidParameter(f"invalid signal: {raw}")


def parse_signal(raw: str | int) -> int:
    """Translate a signal given as text or number into its number (``signal.ParseSignal``).

    * an integer, or a string Go's ``strconv.Atoi`` accepts (``"9"``, ``"+9"``),
      is returned as is when non-zero — even if Linux has no such signal (see
      :func:`validate_signal`);
    * otherwise ``raw`` is upper-cased, one leading ``SIG`` is removed and the
      rest looked up in :data:`SIGNAL_MAP` (``"sigterm"`` → 15,
      ``"RTMIN+3"`` → 37, ``"SIGRTMAX-1"`` → 63).

    Raises InvalidParameter("invalid signal: <raw>") for 0 and unknown names
    (moby/sys/signal's wording, as Docker ≥ 23 prints it).
    """
    if isinstance(raw, bool):
        raise _invalid(raw)
    if isinstance(raw, int):
        if raw == 0:
            raise _invalid(raw)
        return raw
    if not isinstance(raw, str):
        raise _invalid(raw)
    digits = raw[1:] if raw[:1] in ("+", "-") else raw
    if digits and all("0" <= c <= "9" for c in digits):  # what strconv.Atoi accepts
        n = int(raw)
        if _INT64_MIN <= n <= _INT64_MAX:
            if n == 0:
                raise _invalid(raw)
            return n
        # Out of int64 range: Atoi fails and Go falls back to the name lookup.
    name = raw.upper()
    if name.startswith("SIG"):
        name = name[3:]
    num = SIGNAL_MAP.get(name)
    if num is None:
        raise _invalid(raw)
    return num


def valid_signal_for_platform(num: int) -> bool:
    """True when ``num`` is a Linux signal Docker can send (1 to 31 and 34 to 64)."""
    return num in _VALID_NUMBERS


def validate_signal(raw: str | int) -> int:
    """:func:`parse_signal`, then refuse numbers Linux does not have, as ``ContainerKill`` does.

    Raises InvalidParameter("invalid signal: <raw>") or
    InvalidParameter("the linux daemon does not support signal <n>").
    """
    num = parse_signal(raw)
    if not valid_signal_for_platform(num):
        raise InvalidParameter(f"the linux daemon does not support signal {num}")
    return num


def signal_name(num: int) -> str:
    """Name of a signal number: 15 → ``"SIGTERM"``, 17 → ``"SIGCHLD"``, 37 → ``"SIGRTMIN+3"``.

    Aliases resolve to one canonical name (6 → SIGABRT, 29 → SIGIO). A number
    with no Linux signal is returned as its decimal string (``"99"``), so
    callers can always display something.
    """
    return _NAMES.get(num, str(num))
