"""The dashboard's secrets under ``<data-root>/ui/``: the login token and the session key.

Contract:
- ``new_login_token(root)`` writes a fresh random token to ``<root>/ui/token`` (mode 0600,
  directory 0700) at every daemon start and returns it; the previous one stops working.
- ``session_key(root)`` is created once and kept across restarts, so open dashboards keep
  their sessions when the daemon restarts (sessions are signed, not stored).
- ``read_login_token(root)`` returns the token, or None when missing or unreadable.
"""

from __future__ import annotations

import os
import secrets


def ui_dir(data_root: str) -> str:
    return os.path.join(data_root, "ui")


def token_path(data_root: str) -> str:
    return os.path.join(ui_dir(data_root), "token")


def _write_secret(path: str, value: str) -> None:
    """Write ``value`` to ``path`` readable by its owner only, atomically."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    os.chmod(os.path.dirname(path), 0o700)
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    os.replace(tmp, path)


def new_login_token(data_root: str) -> str:
    token = secrets.token_urlsafe(32)
    _write_secret(token_path(data_root), token)
    return token


def read_login_token(data_root: str) -> str | None:
    try:
        with open(token_path(data_root)) as f:
            return f.read().strip() or None
    except OSError:
        return None


def session_key(data_root: str) -> bytes:
    path = os.path.join(ui_dir(data_root), "session-key")
    try:
        with open(path) as f:
            value = f.read().strip()
        if len(value) >= 32:
            return value.encode()
    except OSError:
        pass
    value = secrets.token_hex(32)
    _write_secret(path, value)
    return value.encode()
