"""daemon.json: keys, types, conflicts with flags (dockerd's rules and messages)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from baleine.daemon import main as daemon_main
from baleine.daemon.config import KEYS, ConfigError, explicit_dests, load
from baleine.daemon.tls import TLSError, TLSSettings, check_plain_tcp, is_loopback


def write(tmp_path: Path, doc: object) -> str:
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps(doc))
    return str(path)


def args_with(tmp_path: Path, doc: object, *argv: str):
    return daemon_main.load_args(["--config-file", write(tmp_path, doc), *argv])


def test_every_key_names_a_flag() -> None:
    dests = {a.dest for a in daemon_main.parser()._actions}
    missing = {k for k, key in KEYS.items() if key.dest not in dests}
    assert not missing


@pytest.mark.parametrize("doc, dest, value", [
    ({"data-root": "/srv/b"}, "data_root", "/srv/b"),
    ({"exec-root": "/run/b2"}, "exec_root", "/run/b2"),
    ({"hosts": ["unix:///run/x.sock", "tcp://127.0.0.1:2375"]}, "host", ["unix:///run/x.sock", "tcp://127.0.0.1:2375"]),
    ({"log-level": "debug"}, "log_level", "debug"),
    ({"log-opts": {"max-size": "10m", "max-file": "3"}}, "log_opt", ["max-size=10m", "max-file=3"]),
    ({"insecure-registries": ["reg:5000"]}, "insecure_registry", ["reg:5000"]),
    ({"registry-mirrors": ["https://m.example"]}, "registry_mirror", ["https://m.example"]),
    ({"default-address-pools": [{"base": "10.99.0.0/16", "size": 24}]}, "pools", ["base=10.99.0.0/16,size=24"]),
    ({"bip": "10.98.0.1/24"}, "bip", "10.98.0.1/24"),
    ({"dns": ["127.0.0.1"]}, "dns", ["127.0.0.1"]),
    ({"mtu": 1400}, "mtu", 1400),
    ({"iptables": False}, "iptables", False),
    ({"ip-forward": False}, "ip_forward", False),
    ({"group": "wheel"}, "group", "wheel"),
    ({"tlsverify": True, "tlscacert": "/c/ca.pem", "tlscert": "/c/cert.pem", "tlskey": "/c/key.pem"},
     "tlscacert", "/c/ca.pem"),
    ({"labels": ["a=b"]}, "label", ["a=b"]),
    ({"kube-addr": "127.0.0.1:7443"}, "kube_addr", "127.0.0.1:7443"),
    ({"ui-addr": "127.0.0.1:9000"}, "ui_addr", "127.0.0.1:9000"),
])
def test_keys_are_read(tmp_path: Path, doc: dict, dest: str, value: object) -> None:
    assert getattr(args_with(tmp_path, doc), dest) == value


def test_conflict_with_a_flag_names_both(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        args_with(tmp_path, {"data-root": "/srv/file", "mtu": 1400}, "--data-root", "/srv/flag")
    msg = str(exc.value)
    assert "specified both as a flag and in the configuration file" in msg
    assert "data-root: (from flag: /srv/flag, from file: /srv/file)" in msg
    assert "mtu" not in msg


def test_conflict_on_repeated_flags(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"hosts: \(from flag: \[unix:///a\], from file: \[unix:///b\]\)"):
        args_with(tmp_path, {"hosts": ["unix:///b"]}, "-H", "unix:///a")


def test_unknown_key_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="the following directives don't match any configuration option: nosuch"):
        args_with(tmp_path, {"nosuch": 1, "mtu": 1400})


@pytest.mark.parametrize("doc, key", [({"mtu": "1400"}, "mtu"), ({"iptables": "no"}, "iptables"),
                                      ({"dns": "1.1.1.1"}, "dns"), ({"log-opts": {"max-size": 5}}, "log-opts"),
                                      ({"default-address-pools": [{"base": "x"}]}, "default-address-pools")])
def test_bad_values_name_the_key(tmp_path: Path, doc: dict, key: str) -> None:
    with pytest.raises(SystemExit, match=f"invalid value for {key}"):
        args_with(tmp_path, doc)


def test_named_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no such file"):
        daemon_main.load_args(["--config-file", str(tmp_path / "missing.json")])
    assert load(str(tmp_path / "missing.json"), required=False) == {}
    with pytest.raises(ConfigError, match="invalid JSON"):
        (tmp_path / "bad.json").write_text("{")
        load(str(tmp_path / "bad.json"), required=True)


def test_explicit_dests() -> None:
    p = daemon_main.parser()
    assert explicit_dests(p, ["-H", "unix:///x", "--iptables=false", "--tls"]) == {"host", "iptables", "tls"}
    assert explicit_dests(p, []) == set()


def test_plain_tcp_rules() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("[::1]") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1")
    assert check_plain_tcp("127.0.0.1:2375", TLSSettings()) is None
    with pytest.raises(TLSError, match="--tlsverify"):
        check_plain_tcp("0.0.0.0:2375", TLSSettings())
    assert "insecure" in (check_plain_tcp("0.0.0.0:2375", TLSSettings(tls=False)) or "")
    assert check_plain_tcp("0.0.0.0:2376", TLSSettings(verify=True)) is None


def test_log_formats() -> None:
    import json as json_mod
    import logging

    from baleine.daemon.logs import JSONFormatter

    record = logging.LogRecord("baleine.api", logging.WARNING, __file__, 1, "listening on %s", ("x",), None)
    doc = json_mod.loads(JSONFormatter().format(record))
    assert doc["level"] == "warn" and doc["msg"] == "listening on x" and doc["module"] == "baleine.api"
    assert doc["time"].endswith("Z")
    with pytest.raises(SystemExit):
        daemon_main.parser().parse_args(["--log-format", "xml"])
