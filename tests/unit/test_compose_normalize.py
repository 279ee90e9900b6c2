"""Compose normalisation (baleine.compose.normalize) and schema validation
(baleine.compose.schema)."""

from __future__ import annotations

import pytest

from baleine.compose import schema, yamlfile
from baleine.compose.errors import ComposeError
from baleine.compose.normalize import (check_project_name, normalize_network, normalize_project_name,
                                       normalize_service, normalize_volume, parse_port, parse_volume, scale_of)


def svc(text: str, env: dict[str, str] | None = None, base: str = "/proj") -> dict:
    return normalize_service("web", yamlfile.load(text, "x")[0], env or {}, base)


# -- ports ----------------------------------------------------------------------------------------

P = {"mode": "ingress"}


@pytest.mark.parametrize("spec,expected", [
    (80, [dict(P, target=80, protocol="tcp")]),
    ("80", [dict(P, target=80, protocol="tcp")]),
    ("8080:80", [dict(P, target=80, published="8080", protocol="tcp")]),
    ("127.0.0.1:8080:80", [dict(P, host_ip="127.0.0.1", target=80, published="8080", protocol="tcp")]),
    ("127.0.0.1::80", [dict(P, host_ip="127.0.0.1", target=80, protocol="tcp")]),
    ("53:53/udp", [dict(P, target=53, published="53", protocol="udp")]),
    ("53:53/UDP", [dict(P, target=53, published="53", protocol="udp")]),
    ("80/sctp", [dict(P, target=80, protocol="sctp")]),
    ("3000-3002", [dict(P, target=p, protocol="tcp") for p in (3000, 3001, 3002)]),
    ("9000-9001:3000-3001", [dict(P, target=3000, published="9000", protocol="tcp"),
                             dict(P, target=3001, published="9001", protocol="tcp")]),
    ("8000-8010:80", [dict(P, target=80, published="8000-8010", protocol="tcp")]),
    ("[::1]:8080:80", [dict(P, host_ip="::1", target=80, published="8080", protocol="tcp")]),
    ("[::1]::80", [dict(P, host_ip="::1", target=80, protocol="tcp")]),
    ({"target": 80}, [dict(P, target=80, protocol="tcp")]),
    ({"target": "80", "published": 8080}, [dict(P, target=80, published="8080", protocol="tcp")]),
    ({"target": 80, "published": "8080", "host_ip": "127.0.0.1", "protocol": "udp", "mode": "host"},
     [{"mode": "host", "host_ip": "127.0.0.1", "target": 80, "published": "8080", "protocol": "udp"}]),
    ({"target": 80, "name": "web", "app_protocol": "http"},
     [{"name": "web", "mode": "ingress", "target": 80, "protocol": "tcp", "app_protocol": "http"}]),
])
def test_ports(spec: object, expected: list) -> None:
    assert parse_port(spec, "services.web.ports[0]") == expected


@pytest.mark.parametrize("spec,fragment", [
    ("abc", "invalid containerPort"),
    ("80/xyz", "invalid proto"),
    ("1:2:3:4", "invalid port specification"),
    ("70000", "invalid containerPort"),
    ("9000-9002:3000-3001", "invalid ranges"),
    ("3001-3000", "invalid containerPort"),
    ("8080:", "no port specified"),
    ({"published": 80}, "missing required property 'target'"),
    ({"target": "80-81"}, "invalid containerPort"),
    ("x:80", "invalid hostPort"),
])
def test_bad_ports(spec: object, fragment: str) -> None:
    with pytest.raises(ComposeError) as exc:
        parse_port(spec, "services.web.ports[0]")
    assert fragment in str(exc.value)
    assert exc.value.path == "services.web.ports[0]"


# -- volumes --------------------------------------------------------------------------------------

BIND = {"create_host_path": True}


@pytest.mark.parametrize("spec,expected", [
    ("/data", {"type": "volume", "target": "/data"}),
    ("data:/data", {"type": "volume", "source": "data", "target": "/data"}),
    ("data:/data:ro", {"type": "volume", "source": "data", "target": "/data", "read_only": True}),
    ("data:/data:rw", {"type": "volume", "source": "data", "target": "/data"}),
    ("data:/data:nocopy", {"type": "volume", "source": "data", "target": "/data", "volume": {"nocopy": True}}),
    ("./src:/app", {"type": "bind", "source": "/proj/src", "target": "/app", "bind": BIND}),
    ("../up:/app", {"type": "bind", "source": "/up", "target": "/app", "bind": BIND}),
    (".:/app", {"type": "bind", "source": "/proj", "target": "/app", "bind": BIND}),
    ("/abs:/app:ro", {"type": "bind", "source": "/abs", "target": "/app", "read_only": True, "bind": BIND}),
    ("/abs:/app:ro,z", {"type": "bind", "source": "/abs", "target": "/app", "read_only": True,
                        "bind": {"selinux": "z", "create_host_path": True}}),
    ("/abs:/app:rshared", {"type": "bind", "source": "/abs", "target": "/app",
                           "bind": {"propagation": "rshared", "create_host_path": True}}),
    ("/abs:/app:cached", {"type": "bind", "source": "/abs", "target": "/app", "consistency": "cached", "bind": BIND}),
    ({"type": "volume", "source": "data", "target": "/d"}, {"type": "volume", "source": "data", "target": "/d"}),
    ({"type": "bind", "source": "./x", "target": "/d", "read_only": True},
     {"type": "bind", "source": "/proj/x", "target": "/d", "read_only": True, "bind": BIND}),
    ({"type": "bind", "source": "/x", "target": "/d", "bind": {"create_host_path": False}},
     {"type": "bind", "source": "/x", "target": "/d", "bind": {"create_host_path": False}}),
    ({"type": "tmpfs", "target": "/t", "tmpfs": {"size": "1m"}}, {"type": "tmpfs", "target": "/t",
                                                                   "tmpfs": {"size": 1048576}}),
    ({"type": "volume", "target": "/d", "read_only": False}, {"type": "volume", "target": "/d"}),
    ({"target": "/d"}, {"type": "volume", "target": "/d"}),
])
def test_volumes(spec: object, expected: dict) -> None:
    assert parse_volume(spec, "services.web.volumes[0]", "/proj") == expected


def test_home_is_expanded(monkeypatch) -> None:
    monkeypatch.setenv("HOME", "/home/me")
    assert parse_volume("~/x:/x", "v", "/proj")["source"] == "/home/me/x"


@pytest.mark.parametrize("spec,fragment", [
    ("relative", "must be absolute"),
    ("data:relative", "must be absolute"),
    ("a:/b:c:d", "invalid volume specification"),
    ("data:/d:bogus", "unknown option 'bogus'"),
    ({"type": "bind", "target": "/d"}, "bind mount requires a source"),
    ({"type": "volume"}, "missing required property 'target'"),
])
def test_bad_volumes(spec: object, fragment: str) -> None:
    with pytest.raises(ComposeError) as exc:
        parse_volume(spec, "services.web.volumes[0]", "/proj")
    assert fragment in str(exc.value)


# -- services -------------------------------------------------------------------------------------


def test_minimal_service() -> None:
    assert svc("image: busybox") == {"image": "busybox", "networks": {"default": None}}


def test_key_order_follows_compose_go() -> None:
    out = svc("working_dir: /w\nimage: busybox\ncommand: x\nbuild: .\nenvironment: {A: b}\nports: ['80']")
    assert list(out) == ["build", "command", "environment", "image", "networks", "ports", "working_dir"]


@pytest.mark.parametrize("text,key,expected", [
    ("command: echo hello world", "command", ["echo", "hello", "world"]),
    ("command: sh -c 'echo $$HOME && ls'", "command", ["sh", "-c", "echo $$HOME && ls"]),
    ('command: [sh, -c, "a b"]', "command", ["sh", "-c", "a b"]),
    ("command: [echo, 1, true]", "command", ["echo", "1", "true"]),
    ("command: []", "command", []),
    ("command: ''", "command", []),
    ("entrypoint: /bin/sh -c", "entrypoint", ["/bin/sh", "-c"]),
    ("build: ./app", "build", {"context": "/proj/app", "dockerfile": "Dockerfile"}),
    ("build: {context: ., dockerfile: Other}", "build", {"context": "/proj", "dockerfile": "Other"}),
    ("build: {context: ., args: [A=1, B]}", "build", {"context": "/proj", "dockerfile": "Dockerfile",
                                                       "args": {"A": "1", "B": "from-env"}}),
    ("build: {context: ., args: {N: 3, T: true}}", "build", {"context": "/proj", "dockerfile": "Dockerfile",
                                                              "args": {"N": "3", "T": "true"}}),
    ("build: {context: 'https://github.com/x/y.git'}", "build", {"context": "https://github.com/x/y.git",
                                                                  "dockerfile": "Dockerfile"}),
    ("build: {context: ., shm_size: 64m}", "build", {"context": "/proj", "dockerfile": "Dockerfile",
                                                     "shm_size": 67108864}),
    ("environment: {A: 1, B: true, C: null, D: ''}", "environment",
     {"A": "1", "B": "true", "C": None, "D": ""}),
    ("environment: [A=1, B, HOMEY]", "environment", {"A": "1", "B": "from-env", "HOMEY": None}),
    ("environment: {F: 1.5, G: 1.0}", "environment", {"F": "1.5", "G": "1"}),
    ("labels: [a=1, b]", "labels", {"a": "1", "b": ""}),
    ("labels: {a: 1}", "labels", {"a": "1"}),
    ("sysctls: [net.core.somaxconn=1024]", "sysctls", {"net.core.somaxconn": "1024"}),
    ("expose: [80, '443/tcp']", "expose", ["80", "443/tcp"]),
    ("tmpfs: /run", "tmpfs", ["/run"]),
    ("dns: 1.1.1.1", "dns", ["1.1.1.1"]),
    ("extra_hosts: ['a:1.2.3.4', 'b=5.6.7.8']", "extra_hosts", ["a=1.2.3.4", "b=5.6.7.8"]),
    ("extra_hosts: {a: 1.2.3.4, b: ['::1', 1.1.1.1]}", "extra_hosts", ["a=1.2.3.4", "b=::1", "b=1.1.1.1"]),
    ("depends_on: [db, cache]", "depends_on", {"db": {"condition": "service_started", "required": True},
                                                "cache": {"condition": "service_started", "required": True}}),
    ("depends_on: {db: {condition: service_healthy, restart: true}}", "depends_on",
     {"db": {"condition": "service_healthy", "restart": True, "required": True}}),
    ("depends_on: {db: {condition: service_completed_successfully, required: false}}", "depends_on",
     {"db": {"condition": "service_completed_successfully", "required": False}}),
    ("links: ['db:database']", "depends_on", {"db": {"condition": "service_started", "restart": True,
                                                     "required": True}}),
    ("network_mode: 'service:vpn'", "depends_on", {"vpn": {"condition": "service_started", "restart": True,
                                                          "required": True}}),
    ("volumes_from: ['data:ro', 'container:x']", "depends_on", {"data": {"condition": "service_started",
                                                                         "required": True}}),
    ("healthcheck: {test: pg_isready, interval: 90s, timeout: 500ms, retries: 3, start_period: 1m}", "healthcheck",
     {"test": ["CMD-SHELL", "pg_isready"], "timeout": "500ms", "interval": "1m30s", "retries": 3,
      "start_period": "1m0s"}),
    ("healthcheck: {test: [CMD, true]}", "healthcheck", {"test": ["CMD", "true"]}),
    ("healthcheck: {disable: true}", "healthcheck", {"test": ["NONE"]}),
    ("stop_grace_period: 1m30s", "stop_grace_period", "1m30s"),
    ("stop_grace_period: 10s", "stop_grace_period", "10s"),
    ("mem_limit: 512m", "mem_limit", 536870912),
    ("mem_limit: 1073741824", "mem_limit", 1073741824),
    ("shm_size: 1gb", "shm_size", 1073741824),
    ("cpus: 0.5", "cpus", 0.5),
    ("cpus: '1.5'", "cpus", 1.5),
    ("deploy: {replicas: 3, resources: {limits: {memory: 50M, cpus: '0.25', pids: 10}}}", "deploy",
     {"replicas": 3, "resources": {"limits": {"cpus": 0.25, "memory": 52428800, "pids": 10}}}),
    ("deploy: {replicas: '2'}", "deploy", {"replicas": 2}),
    ("restart: 'no'", "restart", "no"),
    ("restart: on-failure:3", "restart", "on-failure:3"),
    ("init: true", "init", True),
    ("read_only: 'true'", "read_only", True),
    ("networks: [a, b]", "networks", {"a": None, "b": None}),
    ("networks: {a: {aliases: [x, 1]}}", "networks", {"a": {"aliases": ["x", "1"]}}),
    ("networks: {a: {ipv4_address: 10.1.0.5, priority: 10}}", "networks",
     {"a": {"ipv4_address": "10.1.0.5", "priority": 10}}),
    ("logging: {driver: json-file, options: {max-size: 1m, max-file: 3}}", "logging",
     {"driver": "json-file", "options": {"max-size": "1m", "max-file": "3"}}),
    ("ulimits: {nofile: {soft: 10, hard: 20}, nproc: 5}", "ulimits", {"nofile": {"soft": 10, "hard": 20}, "nproc": 5}),
    ("secrets: [s]", "secrets", [{"source": "s", "target": "/run/secrets/s"}]),
    ("secrets: [{source: s, target: /x}]", "secrets", [{"source": "s", "target": "/x"}]),
    ("user: 1000", "user", "1000"),
    ("hostname: web1", "hostname", "web1"),
    ("scale: 3", "scale", 3),
])
def test_service_fields(text: str, key: str, expected: object) -> None:
    env = {"B": "from-env"}
    out = svc("image: busybox\n" + text, env)
    assert out[key] == expected


def test_network_flag_must_be_boolean() -> None:
    with pytest.raises(ComposeError) as exc:
        normalize_network("p", "n", {"internal": "sometimes"})
    assert exc.value.path == "networks.n.internal"


def test_network_mode_means_no_default_network() -> None:
    assert "networks" not in svc("image: x\nnetwork_mode: host")


def test_env_file_then_environment(tmp_path) -> None:
    (tmp_path / "a.env").write_text("A=from-file\nB=file\nC=${OUTER}\n")
    (tmp_path / "b.env").write_text("B=second\n")
    out = svc("image: x\nenv_file: [a.env, {path: b.env}, {path: missing.env, required: false}]\n"
              "environment: {A: explicit}", {"OUTER": "outer"}, str(tmp_path))
    assert out["environment"] == {"A": "explicit", "B": "second", "C": "outer"}
    assert out["env_file"][0] == {"path": str(tmp_path / "a.env"), "required": True}


def test_env_file_missing(tmp_path) -> None:
    with pytest.raises(ComposeError) as exc:
        svc("image: x\nenv_file: nope.env", {}, str(tmp_path))
    assert "nope.env not found" in str(exc.value)


@pytest.mark.parametrize("text,fragment", [
    ("healthcheck: {interval: '10'}", "time: missing unit"),
    ("healthcheck: {retries: many}", "must be an integer"),
    ("healthcheck: {interval: soon}", "invalid duration"),
    ("stop_grace_period: abc", "invalid duration"),
    ("mem_limit: lots", "invalid size"),
    ("scale: many", "must be an integer"),
    ("deploy: {replicas: x}", "must be an integer"),
    ("scale: 2\ndeploy: {replicas: 3}", "can't set distinct values on 'scale' and 'deploy.replicas'"),
    ("healthcheck: {disable: true, test: [CMD, x]}", "can't be set at the same time"),
    ("read_only: maybe", "must be a boolean"),
    ("command: \"unterminated 'quote\"", "invalid command line"),
    ("cpus: lots", "invalid cpus"),
])
def test_service_errors(text: str, fragment: str) -> None:
    with pytest.raises(ComposeError) as exc:
        svc("image: x\n" + text)
    assert fragment in str(exc.value)
    assert exc.value.path and exc.value.path.startswith("services.web")


@pytest.mark.parametrize("raw,expected", [
    ({"image": "x"}, 1), ({"scale": 3}, 3), ({"deploy": {"replicas": 0}}, 0), ({"deploy": {}}, 1),
])
def test_scale_of(raw: dict, expected: int) -> None:
    assert scale_of(raw) == expected


# -- networks, volumes, names -----------------------------------------------------------------------


@pytest.mark.parametrize("raw,expected", [
    (None, {"name": "p_front"}),
    ({}, {"name": "p_front"}),
    ({"name": "custom"}, {"name": "custom"}),
    ({"external": True}, {"name": "front", "external": True}),
    ({"external": True, "name": "real"}, {"name": "real", "external": True}),
    ({"external": {"name": "legacy"}}, {"name": "legacy", "external": True}),
    ({"external": False}, {"name": "p_front"}),
    ({"driver": "bridge", "internal": True, "labels": ["a=1"], "driver_opts": {"mtu": 1400}},
     {"name": "p_front", "driver": "bridge", "driver_opts": {"mtu": "1400"}, "internal": True, "labels": {"a": "1"}}),
])
def test_networks(raw: object, expected: dict) -> None:
    assert normalize_network("p", "front", raw) == expected


@pytest.mark.parametrize("raw,expected", [
    (None, {"name": "p_data"}),
    ({"external": True}, {"name": "data", "external": True}),
    ({"name": "x", "labels": {"k": 1}}, {"name": "x", "labels": {"k": "1"}}),
    ({"driver": "local", "driver_opts": {"type": "tmpfs"}}, {"name": "p_data", "driver": "local",
                                                             "driver_opts": {"type": "tmpfs"}}),
])
def test_volumes_top_level(raw: object, expected: dict) -> None:
    assert normalize_volume("p", "data", raw) == expected


@pytest.mark.parametrize("raw,expected", [
    ("MyApp", "myapp"), ("my app", "myapp"), ("my.app", "myapp"), ("_x-y", "x-y"), ("Proj_1", "proj_1"),
    ("---", ""),
])
def test_project_name_from_directory(raw: str, expected: str) -> None:
    assert normalize_project_name(raw) == expected


@pytest.mark.parametrize("name,ok", [("app", True), ("a-b_c1", True), ("1app", True), ("App", False),
                                     ("-app", False), ("a.b", False), ("", False)])
def test_explicit_project_name(name: str, ok: bool) -> None:
    if ok:
        assert check_project_name(name) == name
    else:
        with pytest.raises(ComposeError):
            check_project_name(name)


# -- schema ------------------------------------------------------------------------------------------


def validate(text: str) -> None:
    data, positions = yamlfile.load(text, "compose.yaml")
    schema.validate(data, "compose.yaml", positions)


@pytest.mark.parametrize("text", [
    "services: {}",
    "services:\n  web:\n    image: x\n",
    "services:\n  web:\n    image: x\n    x-custom: {a: 1}\nx-top: 1\n",
    "name: app\nservices:\n  web:\n    build: .\n    ports: [80, '81:81', {target: 82}]\n",
    "services:\n  web:\n    image: x\n    depends_on:\n      db: {condition: service_healthy, restart: true}\n"
    "  db: {image: y}\n",
    "version: '3.8'\nservices:\n  web: {image: x}\n",
    "include: [other.yml]\nservices: {}\n",
    "networks:\n  n: {driver: bridge, internal: true}\nvolumes:\n  v: {}\nservices: {}\n",
    "services:\n  web:\n    image: x\n    deploy: {replicas: 2, resources: {limits: {memory: 50M}}}\n",
])
def test_schema_accepts(text: str) -> None:
    validate(text)


@pytest.mark.parametrize("text,path,line,fragment", [
    ("services:\n  web:\n    image: x\n    ports:\n      - 80\n      - {target: 80, bogus: 1}\n",
     "services.web.ports[1].bogus", 6, "additional property 'bogus' is not allowed"),
    ("services:\n  web:\n    image: x\n    ports:\n      - 80\n      - [80]\n",
     "services.web.ports[1]", 6, "must be a number, a string or a mapping"),
    ("services:\n  web:\n    imag: x\n", "services.web.imag", 3, "additional property 'imag' is not allowed"),
    ("services:\n  web:\n    image: [x]\n", "services.web.image", 3, "must be a string"),
    ("services:\n  web:\n    image: x\n    depends_on:\n      db: {condition: maybe}\n",
     "services.web.depends_on.db.condition", 5, "must be one of"),
    ("services:\n  web:\n    image: x\n    ports: 80\n", "services.web.ports", 4, "must be a list"),
    ("services:\n  web:\n    image: x\n    restart: 3\n", "services.web.restart", 4, "must be a string"),
    ("servics:\n  web: {image: x}\n", "servics", 1, "additional property 'servics' is not allowed"),
    ("services:\n  web:\n    image: x\n    environment: 3\n", "services.web.environment", 4,
     "must be a mapping or a list"),
    ("services:\n  web:\n    image: x\n    networks:\n      front:\n        aliases: one\n",
     "services.web.networks.front.aliases", 6, "must be a list"),
    ("services:\n  web:\n    image: x\n    healthcheck:\n      retries: [1]\n",
     "services.web.healthcheck.retries", 5, "must be"),
    ("networks:\n  n:\n    internal: [yes]\nservices: {}\n", "networks.n.internal", 3, "must be a boolean"),
    ("services:\n  web:\n    image: x\n    cap_add: NET_ADMIN\n", "services.web.cap_add", 4, "must be a list"),
    ("services:\n  'bad name!':\n    image: x\n", "services.bad name!", 2, "is not allowed"),
])
def test_schema_errors(text: str, path: str, line: int, fragment: str) -> None:
    with pytest.raises(ComposeError) as exc:
        validate(text)
    err = exc.value
    assert err.file == "compose.yaml"
    assert err.path == path, str(err)
    assert err.line == line, str(err)
    assert fragment in str(err)
    assert str(err).startswith(f"compose.yaml:{line}: {path}: ")


def test_schema_top_level_must_be_mapping() -> None:
    with pytest.raises(ComposeError) as exc:
        schema.validate(["a"], "compose.yaml")
    assert "mapping" in str(exc.value)
