"""Compose merge rules (baleine.compose.merge): -f override files and extends."""

from __future__ import annotations

import copy

import pytest

from baleine.compose import yamlfile
from baleine.compose.errors import ComposeError
from baleine.compose.merge import enforce_unicity, merge, merge_service, to_list, to_mapping, volume_target


def y(text: str) -> dict:
    return yamlfile.load(text, "f.yml")[0]


def web(base: str, override: str) -> dict:
    """services.web after merging two service bodies given as YAML."""
    a = {"services": {"web": y(base)}}
    b = {"services": {"web": y(override)}}
    return merge(a, b)["services"]["web"]


@pytest.mark.parametrize("base,override,expected", [
    # scalars replaced
    ("image: a", "image: b", {"image": "b"}),
    ("image: a", "restart: always", {"image": "a", "restart": "always"}),
    ("read_only: true", "read_only: false", {"read_only": False}),
    # command, entrypoint, healthcheck.test replaced, never appended
    ("command: [a, b]", "command: [c]", {"command": ["c"]}),
    ("command: a b", "command: [c]", {"command": ["c"]}),
    ("entrypoint: [a]", "entrypoint: b c", {"entrypoint": "b c"}),
    ("healthcheck: {test: [CMD, a], interval: 1s}", "healthcheck: {test: [CMD, b]}",
     {"healthcheck": {"test": ["CMD", "b"], "interval": "1s"}}),
    # environment / labels merge as mappings whatever the syntax
    ("environment: {A: '1', B: '2'}", "environment: {B: '3', C: '4'}",
     {"environment": {"A": "1", "B": "3", "C": "4"}}),
    ("environment: [A=1, B=2]", "environment: {B: '3'}", {"environment": {"A": "1", "B": "3"}}),
    ("environment: {A: '1'}", "environment: [A=2, C]", {"environment": {"A": "2", "C": None}}),
    ("environment: [A=1]", "environment: [A=x=y]", {"environment": {"A": "x=y"}}),
    ("labels: {a: '1'}", "labels: [b=2]", {"labels": {"a": "1", "b": "2"}}),
    ("annotations: [a=1]", "annotations: [a=2]", {"annotations": {"a": "2"}}),
    ("sysctls: {a: '1'}", "sysctls: [b=2]", {"sysctls": {"a": "1", "b": "2"}}),
    ("build: {context: ., args: [A=1]}", "build: {args: {B: '2'}}",
     {"build": {"context": ".", "args": {"A": "1", "B": "2"}}}),
    ("build: .", "build: {dockerfile: other}", {"build": {"context": ".", "dockerfile": "other"}}),
    ("build: {context: a}", "build: b", {"build": {"context": "b"}}),
    ("deploy: {labels: [a=1]}", "deploy: {labels: {a: '2'}}", {"deploy": {"labels": {"a": "2"}}}),
    # ports unique by host ip, published, target, protocol
    ("ports: ['8080:80']", "ports: ['8081:81']", {"ports": ["8080:80", "8081:81"]}),
    ("ports: ['8080:80']", "ports: ['8080:80']", {"ports": ["8080:80"]}),
    ("ports: [{target: 80, published: '8080'}]", "ports: [{target: 80, published: '8080', protocol: tcp}]",
     {"ports": [{"target": 80, "published": "8080", "protocol": "tcp"}]}),
    ("ports: [{target: 80, published: '8080', protocol: tcp}]", "ports: [{target: 80, published: '8080', protocol: udp}]",
     {"ports": [{"target": 80, "published": "8080", "protocol": "tcp"},
                {"target": 80, "published": "8080", "protocol": "udp"}]}),
    # volumes unique by target
    ("volumes: ['./a:/data']", "volumes: ['./b:/data']", {"volumes": ["./b:/data"]}),
    ("volumes: ['./a:/data', 'x:/x']", "volumes: ['./b:/other']", {"volumes": ["./a:/data", "x:/x", "./b:/other"]}),
    ("volumes: ['/data']", "volumes: [{type: volume, source: v, target: /data}]",
     {"volumes": [{"type": "volume", "source": "v", "target": "/data"}]}),
    ("volumes: ['a:/data:ro']", "volumes: ['a:/data:rw']", {"volumes": ["a:/data:rw"]}),
    # simple sequences appended, duplicates dropped where they have an identity
    ("cap_add: [NET_ADMIN]", "cap_add: [NET_ADMIN, SYS_TIME]", {"cap_add": ["NET_ADMIN", "SYS_TIME"]}),
    ("cap_drop: [ALL]", "cap_drop: [NET_RAW]", {"cap_drop": ["ALL", "NET_RAW"]}),
    ("dns: 1.1.1.1", "dns: [8.8.8.8, 1.1.1.1]", {"dns": ["1.1.1.1", "8.8.8.8"]}),
    ("dns_search: a.com", "dns_search: b.com", {"dns_search": ["a.com", "b.com"]}),
    ("tmpfs: /run", "tmpfs: [/tmp, /run]", {"tmpfs": ["/run", "/tmp"]}),
    ("expose: ['80']", "expose: ['80', '443']", {"expose": ["80", "443"]}),
    ("profiles: [a]", "profiles: [a, b]", {"profiles": ["a", "b"]}),
    ("env_file: a.env", "env_file: [b.env, a.env]", {"env_file": ["a.env", "b.env"]}),
    ("env_file: [{path: a.env, required: true}]", "env_file: [{path: a.env, required: false}]",
     {"env_file": [{"path": "a.env", "required": False}]}),
    ("extra_hosts: ['a:1.1.1.1']", "extra_hosts: {b: 2.2.2.2}", {"extra_hosts": ["a:1.1.1.1", "b=2.2.2.2"]}),
    ("security_opt: [a]", "security_opt: [b]", {"security_opt": ["a", "b"]}),
    ("secrets: [s1]", "secrets: [{source: s1, target: /run/secrets/s1}]",
     {"secrets": [{"source": "s1", "target": "/run/secrets/s1"}]}),
    ("devices: ['/dev/a:/dev/a']", "devices: ['/dev/b:/dev/a']", {"devices": ["/dev/b:/dev/a"]}),
    # depends_on: lists become mappings
    ("depends_on: [db]", "depends_on: {cache: {condition: service_healthy}}",
     {"depends_on": {"db": {"condition": "service_started", "required": True},
                     "cache": {"condition": "service_healthy"}}}),
    ("depends_on: {db: {condition: service_healthy}}", "depends_on: [db]",
     {"depends_on": {"db": {"condition": "service_started", "required": True}}}),
    # networks: lists become mappings
    ("networks: [a]", "networks: {b: {aliases: [x]}}", {"networks": {"a": None, "b": {"aliases": ["x"]}}}),
    ("networks: {a: {aliases: [x]}}", "networks: {a: {aliases: [y, x]}}", {"networks": {"a": {"aliases": ["x", "y"]}}}),
    ("networks: {a: null}", "networks: {a: {ipv4_address: 10.0.0.2}}",
     {"networks": {"a": {"ipv4_address": "10.0.0.2"}}}),
    # logging merges only with the same (or no) driver
    ("logging: {driver: json-file, options: {max-size: 1m}}", "logging: {options: {max-file: '3'}}",
     {"logging": {"driver": "json-file", "options": {"max-size": "1m", "max-file": "3"}}}),
    ("logging: {driver: json-file, options: {max-size: 1m}}", "logging: {driver: syslog, options: {tag: x}}",
     {"logging": {"driver": "syslog", "options": {"tag": "x"}}}),
    ("logging: {driver: json-file, options: {a: '1'}}", "logging: {driver: json-file, options: {b: '2'}}",
     {"logging": {"driver": "json-file", "options": {"a": "1", "b": "2"}}}),
    # ulimits
    ("ulimits: {nofile: {soft: 1, hard: 2}}", "ulimits: {nofile: {hard: 3}}", {"ulimits": {"nofile": {"soft": 1, "hard": 3}}}),
    ("ulimits: {nofile: 10}", "ulimits: {nofile: {soft: 1, hard: 2}}", {"ulimits": {"nofile": {"soft": 1, "hard": 2}}}),
    ("ulimits: {nproc: 1}", "ulimits: {nproc: 2}", {"ulimits": {"nproc": 2}}),
    # nested mappings merged
    ("deploy: {resources: {limits: {memory: 1g}}}", "deploy: {resources: {limits: {cpus: '0.5'}}}",
     {"deploy": {"resources": {"limits": {"memory": "1g", "cpus": "0.5"}}}}),
    ("healthcheck: {interval: 1s, retries: 3}", "healthcheck: {retries: 5}", {"healthcheck": {"interval": "1s", "retries": 5}}),
    # !reset and !override
    ("ports: ['80:80']", "ports: !reset []", {}),
    ("environment: {A: '1'}", "environment: !reset {}", {}),
    ("image: a\ncommand: [x]", "command: !reset null", {"image": "a"}),
    ("ports: ['80:80']", "ports: !override ['81:81']", {"ports": ["81:81"]}),
    ("environment: {A: '1'}", "environment: !override {B: '2'}", {"environment": {"B": "2"}}),
    ("networks: {a: {aliases: [x]}}", "networks: {a: !override {aliases: [y]}}", {"networks": {"a": {"aliases": ["y"]}}}),
    ("healthcheck: {test: [CMD, a], interval: 1s}", "healthcheck: !override {test: [CMD, b]}",
     {"healthcheck": {"test": ["CMD", "b"]}}),
    ("environment: {A: '1', B: '2'}", "environment: {A: !reset null}", {"environment": {"B": "2"}}),
    ("volumes: ['a:/a']", "volumes: !override ['b:/b']", {"volumes": ["b:/b"]}),
    ("image: a", "image: !override b", {"image": "b"}),
    # x- extensions replaced whole
    ("x-meta: {a: 1}", "x-meta: {b: 2}", {"x-meta": {"b": 2}}),
])
def test_service_merge(base: str, override: str, expected: dict) -> None:
    assert web(base, override) == expected


def test_merge_does_not_modify_inputs() -> None:
    a = {"services": {"web": {"image": "a", "ports": ["80"], "environment": {"A": "1"}}}}
    b = {"services": {"web": {"ports": ["81"], "environment": {"B": "2"}}}}
    a0, b0 = copy.deepcopy(a), copy.deepcopy(b)
    merge(a, b)
    assert a == a0 and b == b0


def test_merge_top_level() -> None:
    a = y("services:\n  web: {image: a}\nnetworks:\n  front: {}\nvolumes:\n  data: {}\n")
    b = y("services:\n  db: {image: b}\nnetworks:\n  front: {internal: true}\n  back: {}\n"
          "volumes:\n  data: {labels: [x=1]}\nx-extra: 1\n")
    m = merge(a, b)
    assert set(m["services"]) == {"web", "db"}
    assert m["networks"] == {"front": {"internal": True}, "back": {}}
    assert m["volumes"] == {"data": {"labels": ["x=1"]}}  # one side only: its syntax is kept
    assert m["x-extra"] == 1


def test_reset_a_whole_service_key() -> None:
    a = y("services:\n  web: {image: a}\n  db: {image: b}\n")
    b = y("services:\n  db: !reset\n")
    assert set(merge(a, b)["services"]) == {"web"}


def test_three_files_in_order() -> None:
    files = [y("services:\n  web: {image: a, environment: [A=1]}\n"),
             y("services:\n  web: {image: b, environment: [A=2]}\n"),
             y("services:\n  web: {environment: [B=3]}\n")]
    m = files[0]
    for f in files[1:]:
        m = merge(m, f)
    assert m["services"]["web"] == {"image": "b", "environment": {"A": "2", "B": "3"}}


@pytest.mark.parametrize("base,override", [
    ("deploy: {resources: {}}", "deploy: [1]"),
    ("cap_add: [A]", "cap_add: {A: 1}"),
])
def test_incompatible_types(base: str, override: str) -> None:
    with pytest.raises(ComposeError) as exc:
        web(base, override)
    assert "cannot override services.web." in str(exc.value)


def test_merge_service_for_extends() -> None:
    base = {"image": "busybox", "environment": ["A=1"], "ports": ["80"], "command": ["a"]}
    own = {"environment": {"B": "2"}, "ports": ["81"], "command": "b"}
    assert merge_service(base, own, "web") == {"image": "busybox", "environment": {"A": "1", "B": "2"},
                                               "ports": ["80", "81"], "command": "b"}


def test_enforce_unicity_keeps_first_position() -> None:
    model = {"services": {"s": {"ports": ["1:1", "2:2", "1:1"], "volumes": ["a:/x", "b:/y", "c:/x"],
                                "cap_add": ["A", "B", "A"], "command": ["x", "x"]}}}
    out = enforce_unicity(model)["services"]["s"]
    assert out["ports"] == ["1:1", "2:2"]
    assert out["volumes"] == ["c:/x", "b:/y"]
    assert out["cap_add"] == ["A", "B"]
    assert out["command"] == ["x", "x"]  # no identity: untouched


@pytest.mark.parametrize("value,expected", [
    (None, {}), ({"a": 1}, {"a": 1}), (["a=1", "b"], {"a": "1", "b": None}), (["a=b=c"], {"a": "b=c"}),
    ("x", {"x": None}), ([], {}),
])
def test_to_mapping(value: object, expected: dict) -> None:
    assert to_mapping(value) == expected


@pytest.mark.parametrize("value,expected", [(None, []), ("a", ["a"]), (["a", "b"], ["a", "b"]), (3, [3])])
def test_to_list(value: object, expected: list) -> None:
    assert to_list(value) == expected


@pytest.mark.parametrize("entry,target", [
    ("/data", "/data"), ("v:/data", "/data"), ("./a:/data:ro", "/data"), ({"target": "/x"}, "/x"),
])
def test_volume_target(entry: object, target: str) -> None:
    assert volume_target(entry) == target
