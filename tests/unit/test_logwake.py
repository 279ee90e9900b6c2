"""baleine.engine.containers.logwake and the log follower on it: a line appended to a json-file
log reaches a follower at once, not at its next poll (the poll is set to an hour here), also
across a rotation; followers share one inotify instance, closed with the last of them."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from baleine.engine.containers import logs, logwake

pytestmark = pytest.mark.skipif(logwake._LIBC is None, reason="no inotify in this libc")  # noqa: SLF001


def entry(text: str) -> bytes:
    return json.dumps({"log": text + "\n", "stream": "stdout", "time": "2026-01-01T00:00:00Z"}).encode() + b"\n"


def test_a_follower_wakes_on_a_write_and_a_rotation_not_on_its_poll(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "POLL", 3600.0)
    path = tmp_path / "c-json.log"
    path.write_bytes(entry("old"))

    async def main() -> list[float]:
        got: asyncio.Queue[bytes] = asyncio.Queue()

        async def follow() -> None:
            async for e in logs.follow(str(path), lambda: True):
                got.put_nowait(e.data)
        task = asyncio.create_task(follow())
        assert await asyncio.wait_for(got.get(), 5) == b"old\n"
        waits = []
        for i in range(3):
            await asyncio.sleep(0.05)  # the follower is asleep now
            t0 = time.monotonic()
            with open(path, "ab") as f:
                f.write(entry(f"new {i}"))
            assert await asyncio.wait_for(got.get(), 5) == f"new {i}\n".encode()
            waits.append(time.monotonic() - t0)
        # The monitor's rotation: rename, then a new current file.
        os.rename(path, f"{path}.1")
        path.write_bytes(entry("after rotation"))
        assert await asyncio.wait_for(got.get(), 5) == b"after rotation\n"
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert not logwake._INSTANCES  # noqa: SLF001 - closed with its last follower
        return waits

    waits = asyncio.run(main())
    assert max(waits) < 1.0, waits  # with an hour's poll: only inotify can have woken it


def test_followers_share_one_instance_and_a_missing_directory_polls(tmp_path: Path) -> None:
    async def main() -> None:
        a, b = logwake.subscribe(str(tmp_path)), logwake.subscribe(str(tmp_path))
        assert a is not None and b is not None and a.wd == b.wd
        assert len(logwake._INSTANCES) == 1  # noqa: SLF001
        assert logwake.subscribe(str(tmp_path / "nowhere")) is None  # the caller polls
        (tmp_path / "x").write_bytes(b"1")
        await asyncio.wait_for(a.wait(3600), 5)
        await asyncio.wait_for(b.wait(3600), 5)
        t0 = time.monotonic()
        await a.wait(0.05)  # nothing new: the timeout ends the wait
        assert time.monotonic() - t0 >= 0.04
        a.close()
        a.close()  # twice: harmless
        assert logwake._INSTANCES  # noqa: SLF001 - b still waits
        b.close()
        assert not logwake._INSTANCES  # noqa: SLF001
    asyncio.run(main())
