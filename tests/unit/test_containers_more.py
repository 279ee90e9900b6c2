"""Pure parts of top, update, prune and of the CLI's stats, port and cp (stats maths,
port sorting, cp argument splitting, the streaming redraw)."""

from __future__ import annotations

import pytest

from baleine.cli import cp as cli_cp
from baleine.cli import port as cli_port
from baleine.cli import stats as cli_stats
from baleine.engine.containers import disk_usage, top, update
from baleine.engine.containers.records import Container
from baleine.rules.errors import Conflict, EngineError, InvalidParameter
from baleine.rules.filters import Filters

PS = """UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:00 ?        00:00:01 /sbin/init
root         101       1  0 10:01 ?        00:00:00 sleep 1000 with args
root         102     101  0 10:01 ?        00:00:00 sh
"""


def test_parse_ps_output() -> None:
    out = top.parse_ps_output(PS, [101, 102])
    assert out["Titles"] == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert out["Processes"] == [["root", "101", "1", "0", "10:01", "?", "00:00:00", "sleep 1000 with args"],
                                ["root", "102", "101", "0", "10:01", "?", "00:00:00", "sh"]]
    threads = "USER PID TID CMD\nroot 101 - sleep\n- - 101 -\nroot 5 - x\n- - 5 -\n"
    assert top.parse_ps_output(threads, [101])["Processes"] == [["root", "101", "-", "sleep"], ["-", "-", "101", "-"]]
    with pytest.raises(EngineError, match="Couldn't find PID field in ps output"):
        top.parse_ps_output("USER CMD\n", [1])
    with pytest.raises(EngineError, match="Unexpected pid 'x'"):
        top.parse_ps_output("PID CMD\nx y\n", [1])


def test_ps_args() -> None:
    top.validate_ps_args("-o pid=PID,comm")
    with pytest.raises(EngineError, match='specifying "user=PID" is not allowed'):
        top.validate_ps_args("-o user=PID")
    assert top.ps_pids_arg([1, 2, 3]) == "-q1,2,3"


def test_update_validation() -> None:
    assert update.validate({"Memory": 64 << 20}, ncpu=2) == []
    for body, msg in (({"Memory": 1 << 20}, "Minimum memory limit allowed is 6MB"),
                      ({"Memory": 64 << 20, "MemorySwap": 32 << 20}, "Minimum memoryswap limit"),
                      ({"NanoCpus": 3 * 10**9}, "Range of CPUs is from 0.01 to 2.00"),
                      ({"NanoCpus": 10**9, "CpuQuota": 5000}, "Nano CPUs and CPU Quota cannot both be set"),
                      ({"CpuPeriod": 10}, "CPU cfs period can not be less than 1ms"),
                      ({"BlkioWeight": 5}, "Range of blkio weight is from 10 to 1000"),
                      ({"CpusetCpus": "0-3"}, "Requested CPUs are not available - requested 0-3, available: 0,1"),
                      ({"CpusetCpus": "x"}, "Invalid value x for cpuset cpus"),
                      ({"RestartPolicy": {"Name": "bogus"}}, "unknown policy 'bogus'"),
                      ({"RestartPolicy": {"Name": "always", "MaximumRetryCount": 2}}, "only be used with")):
        with pytest.raises(InvalidParameter, match=msg):
            update.validate(body, ncpu=2, online_cpus={0, 1})


def test_update_merge() -> None:
    hc = {"Memory": 0, "MemorySwap": 0, "NanoCpus": 0, "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}}
    new = update.merge(hc, {"Memory": 100 << 20, "CpuShares": 512, "PidsLimit": -1,
                            "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}})
    assert new["Memory"] == 100 << 20 and new["CpuShares"] == 512 and new["PidsLimit"] == 0
    assert new["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert hc["Memory"] == 0  # not modified in place
    # Created with --memory 100m alone: docker holds a 200m memory+swap limit.
    with pytest.raises(Conflict, match="Memory limit should be smaller than already set memoryswap limit"):
        update.merge({"Memory": 100 << 20, "MemorySwap": 0}, {"Memory": 300 << 20})
    assert update.merge({"Memory": 100 << 20, "MemorySwap": 0}, {"Memory": 150 << 20})["MemorySwap"] == 200 << 20
    with pytest.raises(Conflict, match="CPU Period cannot be updated as NanoCPUs has already been set"):
        update.merge({"NanoCpus": 10**9}, {"CpuPeriod": 100000})
    with pytest.raises(Conflict, match="AutoRemove"):
        update.merge({"AutoRemove": True}, {"RestartPolicy": {"Name": "always"}})


def test_runtime_resources() -> None:
    res = update.runtime_resources({"NanoCpus": 1_500_000_000, "Memory": 64 << 20, "MemorySwap": 128 << 20,
                                    "CpuShares": 512, "PidsLimit": 0, "CpusetCpus": "0"})
    assert res["cpu"] == {"cpus": "0", "shares": 512, "period": 100000, "quota": 150000}
    assert res["memory"] == {"limit": 64 << 20, "swap": 128 << 20}
    assert res["pids"] == {"limit": -1}
    assert update.runtime_resources({"CpuQuota": 5000, "CpuPeriod": 20000})["cpu"] == {"period": 20000, "quota": 5000}


def _c(cid: str, *, running: bool = False, status: str = "exited", labels: dict | None = None,
       created: str = "2024-01-01T00:00:00Z") -> Container:
    return Container({"Id": cid, "Name": "/" + cid, "Created": created,
                      "State": {"Running": running, "Status": status}, "Config": {"Labels": labels or {}},
                      "HostConfig": {}, "Baleine": {}})


def test_prune_candidates() -> None:
    items = [_c("a"), _c("b", running=True, status="running"), _c("c", labels={"keep": "1"}),
             _c("d", created="2030-01-01T00:00:00Z"), _c("e", status="restarting")]
    assert [c.id for c in disk_usage.prune_candidates(items, Filters())] == ["a", "c", "d"]
    f = Filters({"label!": ["keep"]})
    assert [c.id for c in disk_usage.prune_candidates(items, f)] == ["a", "d"]
    f = Filters({"until": ["2025-01-01T00:00:00Z"], "label": ["keep=1"]})
    assert [c.id for c in disk_usage.prune_candidates(items, f)] == ["c"]
    with pytest.raises(InvalidParameter, match="invalid filter 'name'"):
        disk_usage.prune_candidates(items, Filters({"name": ["x"]}))


def test_directory_size(tmp_path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"x" * 100)
    (tmp_path / "g").write_bytes(b"y" * 10)
    (tmp_path / "h").hardlink_to(tmp_path / "g")
    (tmp_path / "l").symlink_to("d")
    assert disk_usage.directory_size(str(tmp_path)) == 100 + 10 + 1  # dirs not counted, link once


def test_stats_maths() -> None:
    pre = {"cpu_usage": {"total_usage": 1_000}, "system_cpu_usage": 10_000}
    cur = {"cpu_usage": {"total_usage": 2_000, "percpu_usage": [1, 1]}, "system_cpu_usage": 20_000, "online_cpus": 4}
    assert cli_stats.calculate_cpu_percent_unix(pre, cur) == pytest.approx(40.0)
    cur.pop("online_cpus")
    assert cli_stats.calculate_cpu_percent_unix(pre, cur) == pytest.approx(20.0)
    assert cli_stats.calculate_cpu_percent_unix(cur, cur) == 0.0
    assert cli_stats.calculate_mem_usage_no_cache({"usage": 1000, "stats": {"total_inactive_file": 300}}) == 700
    assert cli_stats.calculate_mem_usage_no_cache({"usage": 1000, "stats": {"inactive_file": 100}}) == 900
    assert cli_stats.calculate_mem_usage_no_cache({"usage": 1000, "stats": {"total_inactive_file": 2000}}) == 1000
    blk = {"io_service_bytes_recursive": [{"op": "Read", "value": 5}, {"op": "write", "value": 7},
                                          {"op": "Total", "value": 12}]}
    assert cli_stats.calculate_block_io(blk) == (5, 7)
    entry = cli_stats.StatsEntry("web")
    entry.set_from({"name": "/web", "id": "a" * 64, "memory_stats": {"usage": 2 << 20, "limit": 8 << 20},
                    "pids_stats": {"current": 3}, "cpu_stats": cur, "precpu_stats": pre})
    row = entry.row(trunc=True)
    assert row["Name"] == "web" and row["ID"] == "a" * 12 and row["MemUsage"] == "2MiB / 8MiB"
    assert row["MemPerc"] == "25.00%" and row["PIDs"] == "3" and row["NetIO"] == "0B / 0B"
    entry.set_error("timeout waiting for stats", reset=True)
    row = entry.row(trunc=False)
    assert row["CPUPerc"] == "--" and row["MemUsage"] == "-- / --" and row["ID"] == "a" * 64


def test_redraw_is_docker_28s() -> None:
    assert cli_stats.redraw("A\nB\n") == "\033[HA\nB\n\033[HA \033[K\nB \033[K\n \033[K\n\033[J"


def test_port_sorting_and_cp_args() -> None:
    assert cli_port.natural_less("80/tcp -> 0.0.0.0:8080", "443/tcp -> 0.0.0.0:8443")
    assert not cli_port.natural_less("a10", "a9") and cli_port.natural_less("a09", "a10")
    assert cli_port._natural_sorted(["9000/tcp", "80/tcp", "443/udp", "443/tcp"]) == \
        ["80/tcp", "443/tcp", "443/udp", "9000/tcp"]
    assert cli_port._join_host_port("::", "80") == "[::]:80"
    assert cli_port._parse_uint16("70000") == 'strconv.ParseUint: parsing "70000": value out of range'
    assert cli_cp.split_cp_arg("web:/etc") == ("web", "/etc")
    assert cli_cp.split_cp_arg("/abs:path") == ("", "/abs:path")
    assert cli_cp.split_cp_arg("./file:x") == ("", "./file:x")
    assert cli_cp.split_cp_arg("plain") == ("", "plain")
