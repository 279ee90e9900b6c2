"""``baleine ui``: print the dashboard's login address (Jupyter-style ``?token=``), open a browser.

Reads ``<data-root>/ui/url`` and ``<data-root>/ui/token`` written by a daemon started with
``--ui-addr``. The token file is root's (mode 0600): other users get an error and no
secret. The browser is opened only when ``$BROWSER`` or ``xdg-open`` exists and
``--no-browser`` is not given.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from .context import CLIError, Context, Parser


def ui_dir(data_root: str) -> str:
    """Where the daemon's baleine/ui/token.py keeps the dashboard's files (the CLI is a
    client: it shares this layout, not the daemon's code)."""
    return os.path.join(data_root, "ui")


def read_login_token(data_root: str) -> str | None:
    try:
        with open(os.path.join(ui_dir(data_root), "token")) as f:
            return f.read().strip() or None
    except OSError:
        return None


def ui(ctx: Context, argv: list[str]) -> int:
    p = Parser("ui", "[OPTIONS]", "Print the web dashboard's login address and open it")
    p.add_argument("--data-root", default="/var/lib/baleine", help="The daemon's data root")
    p.add_argument("--no-browser", action="store_true", help="Only print the address")
    o = p.parse_args(argv)
    try:
        with open(os.path.join(ui_dir(o.data_root), "url")) as f:
            base = f.read().strip()
    except OSError:
        raise CLIError("the dashboard is off: start the daemon with --ui-addr 127.0.0.1:9000", 1) from None
    token = read_login_token(o.data_root)
    if token is None:
        raise CLIError(f"cannot read the dashboard's token under {ui_dir(o.data_root)} (root only)", 1)
    url = f"{base}?token={token}"
    print(url)
    if not o.no_browser:
        _open_browser(url)
    return 0


def _open_browser(url: str) -> None:
    """Start the user's browser on ``url`` without waiting for it; silently nothing when none."""
    command = os.environ.get("BROWSER") or shutil.which("xdg-open")
    if not command:
        return
    try:
        subprocess.Popen([*command.split(), url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    except OSError as exc:
        print(f"cannot open a browser: {exc}", file=sys.stderr)
