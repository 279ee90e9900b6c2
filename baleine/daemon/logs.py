"""The daemon's own log: standard error (journald under systemd), as text or JSON
lines (``--log-format``), and optionally a file rotated by size (``--log-file``, as
the CLI asks when it starts the daemon on demand)."""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import time

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FILE_MAX_BYTES = 10 << 20
FILE_BACKUPS = 3


class JSONFormatter(logging.Formatter):
    """One JSON object per line, with dockerd's (logrus') field names."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
               + f".{int(record.msecs * 1000):06d}Z",
               "level": record.levelname.lower().replace("warning", "warn"), "msg": record.getMessage(),
               "module": record.name}
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def setup(level: str, fmt: str = "text", path: str = "") -> None:
    """Send the root logger to stderr (and ``path``, rotated) at ``level`` in ``fmt``."""
    formatter: logging.Formatter = JSONFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if path:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        handlers.append(logging.handlers.RotatingFileHandler(path, maxBytes=FILE_MAX_BYTES,
                                                             backupCount=FILE_BACKUPS))
    root = logging.getLogger()
    for h in handlers:
        h.setFormatter(formatter)
        root.addHandler(h)
    root.setLevel(level)
