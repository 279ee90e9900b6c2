"""Pure logic of the conmon monitor: k8s-file log lines and the log options it refuses."""

from __future__ import annotations

import pytest

from baleine.engine.containers.logs import _parse
from baleine.engine.runtime.conmon import ConmonMonitor, _sync_message
from baleine.rules.errors import InvalidParameter


def test_k8s_file_lines_full_partial_and_utc() -> None:
    full = _parse(b"2026-12-04T20:25:01.5+01:00 stderr F hello world")
    assert full is not None and (full.stream, full.data, full.time) == ("stderr", b"hello world\n",
                                                                         "2026-12-04T19:25:01.5Z")
    part = _parse(b"2026-12-04T20:25:01.000000001+00:00 stdout P abc")
    assert part is not None and part.data == b"abc" and part.stream == "stdout"
    empty = _parse(b"2026-12-04T20:25:01Z stdout F")
    assert empty is not None and empty.data == b"\n"


def test_k8s_file_torn_lines_are_skipped() -> None:
    assert _parse(b"2026-12-04T20:25") is None
    assert _parse(b"notatime stdout F x") is None
    assert _parse(b"2026-12-04T20:25:01Z stdin F x") is None


def test_json_file_lines_still_parse() -> None:
    entry = _parse(b'{"log":"x\\n","stream":"stdout","time":"2026-01-01T00:00:00Z"}')
    assert entry is not None and entry.data == b"x\n"


def test_sync_pipe_messages() -> None:
    assert _sync_message(b'{"data": 1234}\n') == {"data": 1234}
    assert _sync_message(b'{"data": -1, "message": "runc create failed"}') == {"data": -1,
                                                                              "message": "runc create failed"}
    assert _sync_message(b"")["data"] == -1


@pytest.mark.parametrize("cfg,default,ok", [
    ({"Type": "json-file", "Config": {}}, 1, True),
    ({"Type": "json-file", "Config": {"max-size": "1m"}}, 1, True),
    ({"Type": "none", "Config": {}}, 1, True),
    ({"Type": "json-file", "Config": {"max-file": "3"}}, 1, False),
    ({"Type": "json-file", "Config": {}}, 5, False),
    ({"Type": "json-file", "Config": {"compress": "true"}}, 1, False),
    ({"Type": "local", "Config": {}}, 1, False),
])
def test_log_config_refusals(cfg: dict, default: int, ok: bool) -> None:
    monitor = ConmonMonitor.__new__(ConmonMonitor)  # no binary needed for the check
    if ok:
        monitor.check_log_config(cfg, default)
    else:
        with pytest.raises(InvalidParameter):
            monitor.check_log_config(cfg, default)


def test_runtime_message_without_logrus_decorations() -> None:
    from baleine.engine.runtime.conmon import runtime_message

    line = 'time="2026-12-04T20:33:13Z" level=error msg="runc create failed: exec: \\"x\\": not found"\n'
    assert runtime_message(line) == 'runc create failed: exec: "x": not found'
    assert runtime_message(" plain ") == "plain"
