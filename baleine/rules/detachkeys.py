"""Docker's detach key sequences (``--detach-keys``, default ctrl-p,ctrl-q)."""

from __future__ import annotations

from .errors import InvalidParameter

DEFAULT = "ctrl-p,ctrl-q"
_CTRL_PUNCT = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def parse(spec: str | None) -> bytes:
    """The bytes of a detach key spec (``ctrl-<c>`` or single characters, comma
    separated; the default when empty); InvalidParameter if malformed."""
    spec = spec or DEFAULT
    out = bytearray()
    for key in spec.split(","):
        key = key.strip()
        if key.startswith("ctrl-") and len(key) == 6:
            ch = key[5].lower()
            if "a" <= ch <= "z":
                out.append(ord(ch) - ord("a") + 1)
            elif ch in _CTRL_PUNCT:
                out.append(_CTRL_PUNCT[ch])
            else:
                raise InvalidParameter(f"Invalid detach keys ({spec}) provided")
        elif len(key) == 1:
            out.append(ord(key))
        else:
            raise InvalidParameter(f"Invalid detach keys ({spec}) provided")
    return bytes(out)
