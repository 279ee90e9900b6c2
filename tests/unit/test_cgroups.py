"""Pure parts of engine.cgroups and engine.stats: paths, file formats, Docker's stats JSON."""

from __future__ import annotations

import os

import pytest

from baleine.engine.runtime import cgroups
from baleine.engine.containers import stats


def test_paths_v1_and_v2() -> None:
    assert cgroups.v2_dir("/baleine/", "abc", "/sys/fs/cgroup") == "/sys/fs/cgroup/baleine/abc"
    assert cgroups.v1_dir("memory", "baleine", "abc", exists=lambda p: False) == "/sys/fs/cgroup/memory/baleine/abc"
    # cpuacct mounted together with cpu: the first existing candidate wins.
    found = cgroups.v1_dir("cpuacct", "p", "id", "/r", exists=lambda p: p == "/r/cpu,cpuacct/p/id")
    assert found == "/r/cpu,cpuacct/p/id"


def test_parsers() -> None:
    assert cgroups.parse_int("123\n") == 123
    assert cgroups.parse_int("max\n") == 0
    assert cgroups.parse_limit("max") is None
    assert cgroups.parse_limit("4096") == 4096
    assert cgroups.parse_flat_keyed("cache 1\nrss 2\nbad\nx y\n") == {"cache": 1, "rss": 2}
    assert cgroups.parse_percpu("10 20 \n") == [10, 20]
    blk = cgroups.parse_blkio_v1("8:0 Read 4096\n8:0 Write 512\n8:0 Total 4608\nTotal 4608\n")
    assert blk == [{"major": 8, "minor": 0, "op": "Read", "value": 4096},
                   {"major": 8, "minor": 0, "op": "Write", "value": 512},
                   {"major": 8, "minor": 0, "op": "Total", "value": 4608}]
    assert cgroups.parse_blkio_v1("8:16 77\n") == [{"major": 8, "minor": 16, "op": "", "value": 77}]
    io = cgroups.parse_io_stat("259:0 rbytes=100 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n")
    assert io == [{"major": 259, "minor": 0, "op": "read", "value": 100},
                  {"major": 259, "minor": 0, "op": "write", "value": 20}]
    usage, ncpu = cgroups.parse_proc_stat("cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 1 1 1 1 1 1 1\ncpu1 1 1 1 1 1 1 1\n"
                                          "intr 5\n")
    assert usage == 28 * 10**9 // 100 and ncpu == 2
    with pytest.raises(ValueError):
        cgroups.parse_proc_stat("cpu 1 2\n")
    assert cgroups.parse_meminfo_total("MemTotal:  1024 kB\nMemFree: 1 kB\n") == 1024 * 1024


def _write(root: str, rel: str, text: str) -> None:
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def test_read_v1_tree(tmp_path) -> None:
    root = str(tmp_path)
    d = "p/cid"
    _write(root, f"cpuacct/{d}/cpuacct.usage", "3000\n")
    _write(root, f"cpuacct/{d}/cpuacct.usage_percpu", "1000 2000\n")
    _write(root, f"cpuacct/{d}/cpuacct.stat", "user 2\nsystem 1\n")
    _write(root, f"cpu/{d}/cpu.stat", "nr_periods 4\nnr_throttled 1\nthrottled_time 99\n")
    _write(root, f"memory/{d}/memory.usage_in_bytes", "8192\n")
    _write(root, f"memory/{d}/memory.max_usage_in_bytes", "9000\n")
    _write(root, f"memory/{d}/memory.failcnt", "0\n")
    _write(root, f"memory/{d}/memory.limit_in_bytes", "9223372036854771712\n")
    _write(root, f"memory/{d}/memory.stat", "cache 10\nhierarchical_memory_limit 9223372036854771712\n"
                                            "total_inactive_file 4096\n")
    _write(root, f"blkio/{d}/blkio.throttle.io_service_bytes", "8:0 Read 4096\n8:0 Write 512\nTotal 4608\n")
    _write(root, f"blkio/{d}/blkio.throttle.io_serviced", "8:0 Read 1\nTotal 1\n")
    _write(root, f"pids/{d}/pids.current", "3\n")
    _write(root, f"pids/{d}/pids.max", "max\n")
    cg = cgroups.read("p", "cid", root, v2=False)
    assert (cg.version, cg.cpu_total, cg.cpu_percpu) == (1, 3000, [1000, 2000])
    assert (cg.cpu_user, cg.cpu_system) == (2 * 10**7, 10**7)
    assert (cg.throttle_periods, cg.throttled_periods, cg.throttled_time) == (4, 1, 99)
    assert (cg.memory_usage, cg.memory_max_usage, cg.pids_current, cg.pids_limit) == (8192, 9000, 3, 0)
    assert cg.blkio["io_service_bytes_recursive"][0]["op"] == "Read"
    assert cg.blkio["io_queue_recursive"] == []

    doc = stats.frame("/web", "cid", 1_700_000_000_000_000_000, cg, 5 * 10**9, 2, machine_memory=10**9)
    assert list(doc) == ["read", "preread", "pids_stats", "blkio_stats", "num_procs", "storage_stats",
                         "cpu_stats", "precpu_stats", "memory_stats", "name", "id"]
    assert doc["read"] == "2023-11-14T22:13:20Z" and doc["preread"] == "0001-01-01T00:00:00Z"
    assert doc["pids_stats"] == {"current": 3}
    assert doc["cpu_stats"] == {"cpu_usage": {"total_usage": 3000, "percpu_usage": [1000, 2000],
                                              "usage_in_kernelmode": 10**7, "usage_in_usermode": 2 * 10**7},
                                "system_cpu_usage": 5 * 10**9, "online_cpus": 2,
                                "throttling_data": {"periods": 4, "throttled_periods": 1, "throttled_time": 99}}
    assert doc["precpu_stats"] == stats.empty_cpu()
    mem = doc["memory_stats"]
    assert mem["usage"] == 8192 and mem["max_usage"] == 9000 and "failcnt" not in mem
    assert mem["limit"] == 10**9  # unlimited: the machine's memory
    assert mem["stats"]["total_inactive_file"] == 4096 and list(mem["stats"]) == sorted(mem["stats"])
    again = stats.frame("/web", "cid", 1_700_000_001_000_000_000, cg, 6 * 10**9, 2, 10**9, previous=doc)
    assert again["preread"] == doc["read"] and again["precpu_stats"] == doc["cpu_stats"]


def test_read_v2_tree(tmp_path) -> None:
    root = str(tmp_path)
    _write(root, "p/cid/cpu.stat", "usage_usec 5\nuser_usec 3\nsystem_usec 2\nnr_periods 0\n")
    _write(root, "p/cid/memory.current", "4096\n")
    _write(root, "p/cid/memory.max", "max\n")
    _write(root, "p/cid/memory.stat", "anon 1\ninactive_file 1024\n")
    _write(root, "p/cid/memory.events", "oom 2\n")
    _write(root, "p/cid/io.stat", "")
    _write(root, "p/cid/pids.current", "1\n")
    _write(root, "p/cid/pids.max", "50\n")
    cg = cgroups.read("p", "cid", root, v2=True)
    assert (cg.version, cg.cpu_total, cg.cpu_user, cg.memory_limit, cg.memory_failcnt) == (2, 5000, 3000, None, 2)
    doc = stats.frame("/c", "cid", 0, cg, 0, 0, machine_memory=2048)
    assert "percpu_usage" not in doc["cpu_stats"]["cpu_usage"]
    assert "system_cpu_usage" not in doc["cpu_stats"] and "online_cpus" not in doc["cpu_stats"]
    assert doc["memory_stats"]["limit"] == 2048 and doc["memory_stats"]["failcnt"] == 2
    assert "max_usage" not in doc["memory_stats"]
    assert doc["blkio_stats"]["io_service_bytes_recursive"] is None
    assert doc["pids_stats"] == {"current": 1, "limit": 50}


def test_missing_cgroup(tmp_path) -> None:
    with pytest.raises(cgroups.CgroupGone):
        cgroups.read("p", "nope", str(tmp_path), v2=True)
    with pytest.raises(cgroups.CgroupGone):
        cgroups.read("p", "nope", str(tmp_path), v2=False)


def test_empty_frame_and_net_dev() -> None:
    doc = stats.empty_frame("/x", "id")
    assert doc["read"] == "0001-01-01T00:00:00Z" and doc["memory_stats"] == {} and doc["pids_stats"] == {}
    assert doc["blkio_stats"]["io_service_bytes_recursive"] is None
    text = ("Inter-|   Receive                                                |  Transmit\n"
            " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls "
            "carrier compressed\n"
            "    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0 "
            "      0          0\n"
            "  eth0:    1500      10    1    2    0     0          0         0      700       5    3    4    0     0 "
            "      0          0\n")
    assert stats.parse_net_dev(text) == {"eth0": {"rx_bytes": 1500, "rx_packets": 10, "rx_errors": 1,
                                                  "rx_dropped": 2, "tx_bytes": 700, "tx_packets": 5,
                                                  "tx_errors": 3, "tx_dropped": 4}}
