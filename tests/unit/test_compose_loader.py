"""Loading whole compose projects (baleine.compose.loader): discovery, -f, .env and
--env-file, include, extends, profiles, project names, reference checks; and the
config hash and the create bodies built from the model (hashing, convert, graph)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from baleine.compose import convert, graph
from baleine.compose.errors import ComposeError
from baleine.compose.hashing import go_json, service_hash
from baleine.compose.loader import Options, find_files, load


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def project(root: Path, tree: dict[str, str] | None = None, environ: dict[str, str] | None = None, **kw):  # noqa: ANN201
    write(root, tree or {})
    kw.setdefault("working_dir", str(root))
    return load(Options(environ=environ or {}, **kw))


def fails(root: Path, tree: dict[str, str], environ: dict[str, str] | None = None, **kw) -> ComposeError:
    with pytest.raises(ComposeError) as exc:
        project(root, tree, environ, **kw)
    return exc.value


WEB = "services:\n  web:\n    image: busybox\n"


# -- discovery ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"])
def test_default_file_names(tmp_path: Path, name: str) -> None:
    p = project(tmp_path, {name: WEB})
    assert p.config_files == [str(tmp_path / name)]


def test_preference_order(tmp_path: Path) -> None:
    write(tmp_path, {"docker-compose.yml": WEB, "compose.yaml": WEB})
    assert find_files(str(tmp_path)) == [str(tmp_path / "compose.yaml")]


def test_found_in_parent_directory(tmp_path: Path) -> None:
    write(tmp_path, {"compose.yaml": WEB, "a/b/c/.keep": ""})
    p = project(tmp_path, working_dir=str(tmp_path / "a" / "b" / "c"))
    assert p.config_files == [str(tmp_path / "compose.yaml")]
    assert p.working_dir == str(tmp_path)
    assert p.name == tmp_path.name.lower().replace(".", "") or p.name


def test_override_file_is_loaded(tmp_path: Path) -> None:
    p = project(tmp_path, {"compose.yaml": WEB, "compose.override.yaml": "services:\n  web:\n    image: other\n"})
    assert p.services["web"]["image"] == "other"
    assert len(p.config_files) == 2


def test_not_found(tmp_path: Path) -> None:
    err = fails(tmp_path / "empty", {"empty/.keep": ""}, working_dir=str(tmp_path / "empty"))
    assert "no configuration file provided" in str(err)


def test_explicit_files_merged_in_order(tmp_path: Path) -> None:
    p = project(tmp_path, {"a.yml": WEB + "    environment: [A=1]\n",
                           "b.yml": "services:\n  web:\n    environment: [A=2, B=3]\n  db:\n    image: pg\n"},
                files=["a.yml", "b.yml"])
    assert p.services["web"]["environment"] == {"A": "2", "B": "3"}
    assert set(p.services) == {"web", "db"}
    assert p.config_files == [str(tmp_path / "a.yml"), str(tmp_path / "b.yml")]


def test_compose_file_variable(tmp_path: Path) -> None:
    write(tmp_path, {"one.yml": WEB, "two.yml": "services:\n  web:\n    hostname: h\n"})
    p = project(tmp_path, environ={"COMPOSE_FILE": "one.yml:two.yml"})
    assert p.services["web"]["hostname"] == "h"


def test_missing_explicit_file(tmp_path: Path) -> None:
    err = fails(tmp_path, {}, files=["nope.yml"])
    assert "nope.yml: no such file or directory" in str(err)


def test_directory_as_file(tmp_path: Path) -> None:
    p = project(tmp_path, {"sub/compose.yaml": WEB}, files=["sub"])
    assert p.config_files == [str(tmp_path / "sub" / "compose.yaml")]


def test_stdin(tmp_path: Path) -> None:
    p = load(Options(files=["-"], environ={}, working_dir=str(tmp_path), stdin=lambda: WEB))
    assert p.services["web"]["image"] == "busybox"


# -- names ---------------------------------------------------------------------------------------


def test_project_name_precedence(tmp_path: Path) -> None:
    files = {"compose.yaml": "name: fromfile\n" + WEB}
    assert project(tmp_path, files).name == "fromfile"
    assert project(tmp_path, files, {"COMPOSE_PROJECT_NAME": "fromenv"}).name == "fromenv"
    assert project(tmp_path, files, {"COMPOSE_PROJECT_NAME": "fromenv"}, project_name="flag").name == "flag"


def test_project_name_from_directory(tmp_path: Path) -> None:
    p = project(tmp_path, {"My.App/compose.yaml": WEB}, working_dir=str(tmp_path / "My.App"))
    assert p.name == "myapp"


def test_name_is_interpolated(tmp_path: Path) -> None:
    assert project(tmp_path, {"compose.yaml": "name: ${N:-dflt}\n" + WEB}).name == "dflt"


def test_bad_project_name(tmp_path: Path) -> None:
    assert "invalid project name" in str(fails(tmp_path, {"compose.yaml": WEB}, project_name="Bad Name"))


def test_resource_names(tmp_path: Path) -> None:
    p = project(tmp_path, {"compose.yaml": "name: app\nservices:\n  web:\n    image: x\n    networks: [front, ext]\n"
                                           "    volumes: [data:/data, shared:/s]\n"
                                           "  db:\n    image: y\nnetworks:\n  front: {}\n  ext: {external: true}\n"
                                           "volumes:\n  data: {}\n  shared: {name: fixed}\n"})
    assert p.networks["front"]["name"] == "app_front"
    assert p.networks["ext"] == {"name": "ext", "external": True}
    assert p.networks["default"]["name"] == "app_default"  # db uses it
    assert p.volumes["data"]["name"] == "app_data"
    assert p.volumes["shared"]["name"] == "fixed"
    assert convert.container_name(p, "web", 2) == "app-web-2"


# -- environment ------------------------------------------------------------------------------------


def test_dot_env_and_shell_precedence(tmp_path: Path) -> None:
    files = {".env": "TAG=fromdotenv\nOTHER=dot\n", "compose.yaml": "services:\n  web:\n    image: busybox:${TAG}\n"
             "    environment: ['O=${OTHER}']\n"}
    assert project(tmp_path, files).services["web"]["image"] == "busybox:fromdotenv"
    p = project(tmp_path, files, {"TAG": "fromshell"})
    assert p.services["web"]["image"] == "busybox:fromshell"
    assert p.services["web"]["environment"] == {"O": "dot"}


def test_env_file_flag_replaces_dot_env(tmp_path: Path) -> None:
    files = {".env": "TAG=dot\n", "prod.env": "TAG=prod\n", "extra.env": "TAG=extra\n",
             "compose.yaml": "services:\n  web:\n    image: busybox:${TAG:-none}\n"}
    assert project(tmp_path, files, env_files=[str(tmp_path / "prod.env")]).services["web"]["image"] == "busybox:prod"
    p = project(tmp_path, files, env_files=[str(tmp_path / "prod.env"), str(tmp_path / "extra.env")])
    assert p.services["web"]["image"] == "busybox:extra"
    assert project(tmp_path, files, env_files=[]).services["web"]["image"] == "busybox:none"


def test_missing_env_file_flag(tmp_path: Path) -> None:
    err = fails(tmp_path, {"compose.yaml": WEB}, env_files=[str(tmp_path / "nope.env")])
    assert "couldn't find env file" in str(err)


def test_compose_profiles_from_env(tmp_path: Path) -> None:
    files = {".env": "COMPOSE_PROFILES=debug\n",
             "compose.yaml": WEB + "  tool:\n    image: x\n    profiles: [debug]\n"}
    assert set(project(tmp_path, files).services) == {"web", "tool"}


def test_unset_variable_warning(tmp_path: Path) -> None:
    p = project(tmp_path, {"compose.yaml": "services:\n  web:\n    image: busybox:$NOTSET\n"
                                           "    hostname: ${NOTSET}\n"})
    assert p.warnings == ['The "NOTSET" variable is not set. Defaulting to a blank string.']


def test_required_variable_error_names_file(tmp_path: Path) -> None:
    err = fails(tmp_path, {"compose.yaml": "services:\n  web:\n    image: ${IMAGE:?set IMAGE first}\n"})
    assert err.file == str(tmp_path / "compose.yaml")
    assert err.path == "services.web.image"
    assert "required variable IMAGE is missing a value: set IMAGE first" in str(err)


def test_no_interpolate(tmp_path: Path) -> None:
    p = project(tmp_path, {"compose.yaml": "services:\n  web:\n    image: busybox\n    hostname: $${X}\n"},
                interpolate=False)
    assert p.services["web"]["hostname"] == "$${X}"


# -- profiles ------------------------------------------------------------------------------------------

PROFILED = ("services:\n  web:\n    image: x\n  debug:\n    image: x\n    profiles: [debug]\n"
            "  mock:\n    image: x\n    profiles: [dev, test]\n    depends_on: [helper]\n"
            "  helper:\n    image: x\n    profiles: [helper]\n")


@pytest.mark.parametrize("profiles,services,expected", [
    ([], [], {"web"}),
    (["debug"], [], {"web", "debug"}),
    (["dev", "helper"], [], {"web", "mock", "helper"}),
    (["*"], [], {"web", "debug", "mock", "helper"}),
    ([], ["debug"], {"web", "debug"}),
    ([], ["mock"], {"web", "mock", "helper"}),
])
def test_profiles(tmp_path: Path, profiles: list[str], services: list[str], expected: set[str]) -> None:
    p = project(tmp_path, {"compose.yaml": PROFILED}, profiles=profiles, services=services)
    assert set(p.services) == expected
    assert set(p.disabled) == {"web", "debug", "mock", "helper"} - expected


def test_profile_dependency_disabled(tmp_path: Path) -> None:
    err = fails(tmp_path, {"compose.yaml": PROFILED}, profiles=["dev"])
    assert 'depends on service \'helper\', which is disabled by profiles' in str(err)


def test_disabled_service_lookup(tmp_path: Path) -> None:
    p = project(tmp_path, {"compose.yaml": PROFILED})
    with pytest.raises(ComposeError) as exc:
        p.service("debug")
    assert "disabled by profiles" in str(exc.value)
    with pytest.raises(ComposeError) as exc:
        p.service("nope")
    assert "no such service: nope" in str(exc.value)


# -- extends ----------------------------------------------------------------------------------------


def test_extends_same_file(tmp_path: Path) -> None:
    p = project(tmp_path, {"compose.yaml": "services:\n  base:\n    image: busybox\n    environment: [A=1]\n"
                                           "    ports: ['80']\n  web:\n    extends: base\n    environment: [B=2]\n"
                                           "  api:\n    extends: {service: web}\n    command: x\n"})
    assert p.services["web"]["environment"] == {"A": "1", "B": "2"}
    assert p.services["web"]["image"] == "busybox"
    assert len(p.services["web"]["ports"]) == 1
    assert p.services["api"]["command"] == ["x"]
    assert p.services["api"]["environment"] == {"A": "1", "B": "2"}
    assert "extends" not in p.services["api"]


def test_extends_other_file_rebases_paths(tmp_path: Path) -> None:
    p = project(tmp_path, {"common/base.yml": "services:\n  app:\n    build: ./src\n    env_file: app.env\n"
                                              "    volumes: ['./data:/data']\n",
                           "common/app.env": "FROM_FILE=1\n",
                           "compose.yaml": "services:\n  web:\n    extends:\n      file: common/base.yml\n"
                                           "      service: app\n    volumes: ['./mine:/mine']\n"})
    web = p.services["web"]
    assert web["build"]["context"] == str(tmp_path / "common" / "src")
    assert web["environment"] == {"FROM_FILE": "1"}
    sources = {v["target"]: v["source"] for v in web["volumes"]}
    assert sources == {"/data": str(tmp_path / "common" / "data"), "/mine": str(tmp_path / "mine")}


def test_extends_chain_across_files(tmp_path: Path) -> None:
    p = project(tmp_path, {"a.yml": "services:\n  one:\n    image: x\n    labels: [a=1]\n",
                           "b.yml": "services:\n  two:\n    extends: {file: a.yml, service: one}\n    labels: [b=2]\n",
                           "compose.yaml": "services:\n  web:\n    extends: {file: b.yml, service: two}\n"})
    assert p.services["web"]["labels"] == {"a": "1", "b": "2"}


@pytest.mark.parametrize("files,fragment", [
    ({"compose.yaml": "services:\n  a:\n    extends: b\n  b:\n    extends: a\n"}, "circular reference with extends"),
    ({"compose.yaml": "services:\n  a:\n    extends: a\n"}, "circular reference with extends"),
    ({"compose.yaml": "services:\n  a:\n    extends: nope\n"}, "cannot extend service 'nope'"),
    ({"compose.yaml": "services:\n  a:\n    extends: {file: other.yml, service: x}\n",
      "other.yml": "services:\n  y: {image: z}\n"}, "cannot extend service 'x'"),
    ({"compose.yaml": "services:\n  a:\n    extends: {file: missing.yml, service: x}\n"}, "missing.yml"),
])
def test_extends_errors(tmp_path: Path, files: dict[str, str], fragment: str) -> None:
    assert fragment in str(fails(tmp_path, files))


# -- include ------------------------------------------------------------------------------------------


def test_include(tmp_path: Path) -> None:
    p = project(tmp_path, {"db/compose.yaml": "services:\n  db:\n    image: postgres:${PGV}\n    build: ./ctx\n"
                                              "volumes:\n  pgdata: {}\n",
                           "db/.env": "PGV=15\n",
                           "compose.yaml": "include:\n  - db/compose.yaml\nservices:\n  web:\n    image: x\n"
                                           "    depends_on: [db]\n"})
    assert p.services["db"]["image"] == "postgres:15"  # the included project's own .env
    assert p.services["db"]["build"]["context"] == str(tmp_path / "db" / "ctx")
    assert "pgdata" in p.volumes


def test_include_long_syntax(tmp_path: Path) -> None:
    p = project(tmp_path, {"inc/x.yml": "services:\n  x:\n    image: img:${V}\n",
                           "vars.env": "V=2\n",
                           "compose.yaml": "include:\n  - path: inc/x.yml\n    env_file: vars.env\n"
                                           "    project_directory: .\nservices: {}\n"})
    assert p.services["x"]["image"] == "img:2"


@pytest.mark.parametrize("files,fragment", [
    ({"a.yml": "services:\n  web:\n    image: other\n", "compose.yaml": "include: [a.yml]\n" + WEB},
     "defines conflicting service 'web'"),
    ({"compose.yaml": "include: [missing.yml]\n" + WEB}, "missing.yml not found"),
    ({"a.yml": "include: [compose.yaml]\nservices: {}\n", "compose.yaml": "include: [a.yml]\n" + WEB},
     "include cycle detected"),
])
def test_include_errors(tmp_path: Path, files: dict[str, str], fragment: str) -> None:
    assert fragment in str(fails(tmp_path, files))


def test_include_same_definition_is_fine(tmp_path: Path) -> None:
    p = project(tmp_path, {"a.yml": "services:\n  web:\n    image: busybox\n",
                           "compose.yaml": "include: [a.yml]\n" + WEB})
    assert p.services["web"]["image"] == "busybox"


# -- reference checks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text,path,fragment", [
    ("services:\n  web:\n    image: x\n    depends_on: [db]\n", "services.web.depends_on",
     "service 'web' depends on undefined service 'db'"),
    ("services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n",
     "services.a.depends_on", "dependency cycle detected: a -> b -> a"),
    ("services:\n  a:\n    image: x\n    depends_on: [a]\n", "services.a.depends_on", "dependency cycle detected: a -> a"),
    ("services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [c]\n"
     "  c:\n    image: x\n    links: [a]\n", "services.a.depends_on", "dependency cycle detected: a -> b -> c -> a"),
    ("services:\n  web:\n    image: x\n    networks: [back]\n", "services.web.networks",
     "refers to undefined network back"),
    ("services:\n  web:\n    image: x\n    volumes: [data:/data]\n", "services.web.volumes",
     "refers to undefined volume data"),
    ("services:\n  web:\n    image: x\n    secrets: [s]\n", "services.web.secrets", "refers to undefined secret s"),
    ("services:\n  web:\n    image: x\n    network_mode: service:vpn\n", "services.web.depends_on",
     "depends on undefined service 'vpn'"),
    ("services:\n  web:\n    image: x\n    network_mode: host\n    networks: [a]\nnetworks:\n  a: {}\n",
     "services.web", "'network_mode' and 'networks' cannot be combined"),
    ("services:\n  web:\n    image: x\n    container_name: cname\n    scale: 2\n", "services.web.container_name",
     "can't set container_name and web as container name must be unique"),
    ("services:\n  a:\n    image: x\n    container_name: cname\n  b:\n    image: x\n    container_name: cname\n",
     "services.b.container_name", "container name 'cname' is already used by service 'a'"),
    ("services:\n  web:\n    environment: [A=1]\n", "services.web", "neither an image nor a build context"),
])
def test_reference_errors(tmp_path: Path, text: str, path: str, fragment: str) -> None:
    err = fails(tmp_path, {"compose.yaml": text})
    assert fragment in str(err)
    assert err.path == path
    assert err.file == str(tmp_path / "compose.yaml")


def test_reference_error_line(tmp_path: Path) -> None:
    err = fails(tmp_path, {"compose.yaml": "services:\n  web:\n    image: x\n    networks:\n      - back\n"})
    assert err.line == 4
    assert str(err).startswith(f"{tmp_path / 'compose.yaml'}:4: services.web.networks: ")


def test_optional_dependency_dropped(tmp_path: Path) -> None:
    p = project(tmp_path, {"compose.yaml": "services:\n  web:\n    image: x\n    depends_on:\n"
                                           "      db: {condition: service_started, required: false}\n"})
    assert "depends_on" not in p.services["web"]
    assert any("required: false" in w for w in p.warnings)


def test_schema_error_in_second_file_names_it(tmp_path: Path) -> None:
    err = fails(tmp_path, {"a.yml": WEB, "b.yml": "services:\n  web:\n    ports: [[1]]\n"},
                files=["a.yml", "b.yml"])
    assert err.file == str(tmp_path / "b.yml")
    assert err.path == "services.web.ports[0]"


def test_yaml_error_names_file(tmp_path: Path) -> None:
    err = fails(tmp_path, {"compose.yaml": "services:\n  web:\n    image: [x\n"})
    assert str(err).startswith(str(tmp_path / "compose.yaml") + ": yaml: line")


def test_not_a_mapping(tmp_path: Path) -> None:
    assert "top-level object must be a mapping" in str(fails(tmp_path, {"compose.yaml": "- a\n- b\n"}))


# -- the model ---------------------------------------------------------------------------------------


def test_config_output_shape(tmp_path: Path) -> None:
    p = project(tmp_path, {"compose.yaml": "name: demo\nservices:\n  web:\n    build: .\n    ports: ['8080:80']\n"
                                           "  db:\n    image: postgres\nx-meta: 1\n"})
    d = p.to_dict()
    assert list(d) == ["name", "services", "networks", "x-meta"]
    assert list(d["services"]) == ["db", "web"]
    assert d["services"]["web"]["build"] == {"context": str(tmp_path), "dockerfile": "Dockerfile"}
    assert d["networks"] == {"default": {"name": "demo_default"}}
    json.dumps(d)


def test_start_order_and_levels(tmp_path: Path) -> None:
    p = project(tmp_path, {"compose.yaml": "services:\n  web:\n    image: x\n    depends_on: [api, cache]\n"
                                           "  api:\n    image: x\n    depends_on: [db]\n  db:\n    image: x\n"
                                           "  cache:\n    image: x\n  lone:\n    image: x\n"})
    order = p.start_order()
    assert order.index("db") < order.index("api") < order.index("web")
    assert order.index("cache") < order.index("web")
    assert set(order) == {"web", "api", "db", "cache", "lone"}
    assert p.start_order(["api"]) == ["db", "api"]
    assert p.start_order(["api"], with_deps=False) == ["api"]
    assert graph.levels(p.services, order) == [["cache", "db", "lone"], ["api"], ["web"]]
    assert graph.dependents(p.services, ["db"]) == {"db", "api", "web"}
    assert p.used_networks(["db"]) == ["default"]


# -- hash -----------------------------------------------------------------------------------------------


def hash_of(tmp_path: Path, body: str) -> str:
    return service_hash(project(tmp_path, {"compose.yaml": "services:\n  web:\n" + body}).services["web"])


def test_hash_is_stable_across_syntaxes(tmp_path: Path) -> None:
    a = hash_of(tmp_path / "a", "    image: x\n    environment: [A=1, B=2]\n    ports: ['8080:80']\n")
    b = hash_of(tmp_path / "b", "    ports:\n      - {target: 80, published: 8080}\n    environment: {B: '2', A: '1'}\n"
                                "    image: x\n")
    assert a == b and len(a) == 64


@pytest.mark.parametrize("change", [
    "    image: y\n", "    image: x\n    command: [a]\n", "    image: x\n    environment: [A=2]\n",
    "    image: x\n    ports: ['8081:80']\n", "    image: x\n    healthcheck: {test: 'true'}\n",
    "    image: x\n    volumes: ['/data']\n", "    image: x\n    restart: always\n",
    "    image: x\n    labels: [a=1]\n", "    image: x\n    deploy: {resources: {limits: {memory: 1g}}}\n",
])
def test_hash_changes(tmp_path: Path, change: str) -> None:
    assert hash_of(tmp_path / "a", "    image: x\n") != hash_of(tmp_path / "b", change)


@pytest.mark.parametrize("same", [
    "    image: x\n    scale: 3\n", "    image: x\n    deploy: {replicas: 2}\n", "    image: x\n    build: .\n",
    "    image: x\n    pull_policy: always\n", "    image: x\n    profiles: [p]\n",
    "    image: x\n    depends_on: [db]\n  db:\n    image: z\n",
])
def test_hash_ignores(tmp_path: Path, same: str) -> None:
    kw = {"profiles": ["p"]}
    assert hash_of(tmp_path / "a", "    image: x\n") == service_hash(
        project(tmp_path / "b", {"compose.yaml": "services:\n  web:\n" + same}, **kw).services["web"])


def test_go_json() -> None:
    assert go_json({"a": "<&>", "b": [1, None, True], "c": "é"}) == '{"a":"\\u003c\\u0026\\u003e","b":[1,null,true],"c":"é"}'


# -- create bodies -----------------------------------------------------------------------------------


def test_create_body(tmp_path: Path) -> None:
    p = project(tmp_path, {"compose.yaml": """
name: demo
services:
  web:
    image: busybox
    command: httpd -f
    entrypoint: [/bin/sh, -c]
    environment: {A: '1', UNSET_ONE: null}
    ports: ['127.0.0.1:8080:80', '9000/udp']
    expose: ['7000-7001']
    volumes: ['data:/data:ro', './src:/src', '/anon', {type: tmpfs, target: /t, tmpfs: {size: 1m}}]
    tmpfs: ['/run:size=1m']
    networks:
      back: {aliases: [api], ipv4_address: 10.5.0.9}
      front: {priority: 10}
    healthcheck: {test: [CMD, 'true'], interval: 2s, retries: 4}
    restart: on-failure:2
    deploy: {resources: {limits: {memory: 64m, cpus: '0.5'}}}
    labels: [team=a]
    working_dir: /w
    user: '1000'
    hostname: h
    stop_signal: SIGINT
    stop_grace_period: 20s
    init: true
    read_only: true
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    extra_hosts: ['db.local:10.0.0.1']
    logging: {driver: json-file, options: {max-size: 1m}}
networks:
  back: {ipam: {config: [{subnet: 10.5.0.0/24}]}}
  front: {}
volumes:
  data: {}
"""})
    body = convert.create_body(p, "web", 1, image_id="sha256:abc")
    host = body["HostConfig"]
    assert body["Image"] == "busybox"
    assert body["Cmd"] == ["httpd", "-f"] and body["Entrypoint"] == ["/bin/sh", "-c"]
    assert body["Env"] == ["A=1"]
    assert body["ExposedPorts"] == {"80/tcp": {}, "9000/udp": {}, "7000/tcp": {}, "7001/tcp": {}}
    assert host["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
                                    "9000/udp": [{"HostIp": "", "HostPort": ""}]}
    assert host["Binds"] == [f"{tmp_path}/src:/src"]
    assert host["Mounts"] == [{"Type": "volume", "Target": "/data", "ReadOnly": True, "Source": "demo_data"},
                              {"Type": "volume", "Target": "/anon", "ReadOnly": False},
                              {"Type": "tmpfs", "Target": "/t", "ReadOnly": False,
                               "TmpfsOptions": {"SizeBytes": 1048576}}]
    assert host["Tmpfs"] == {"/run": "size=1m"}
    assert host["NetworkMode"] == "demo_front"  # highest priority first
    eps = body["NetworkingConfig"]["EndpointsConfig"]
    assert eps["demo_back"] == {"Aliases": ["web", "api"], "IPAMConfig": {"IPv4Address": "10.5.0.9"}}
    assert eps["demo_front"] == {"Aliases": ["web"]}
    assert body["Healthcheck"] == {"Test": ["CMD", "true"], "Interval": 2_000_000_000, "Retries": 4}
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert host["Memory"] == 64 * 1024 * 1024 and host["NanoCpus"] == 500_000_000
    assert body["StopSignal"] == "SIGINT" and body["StopTimeout"] == 20
    assert host["Init"] is True and host["ReadonlyRootfs"] is True
    assert host["CapAdd"] == ["NET_ADMIN"] and host["CapDrop"] == ["ALL"]
    assert host["ExtraHosts"] == ["db.local:10.0.0.1"]
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m"}}
    labels = body["Labels"]
    assert labels["team"] == "a"
    assert labels[convert.LABEL_PROJECT] == "demo"
    assert labels[convert.LABEL_SERVICE] == "web"
    assert labels[convert.LABEL_NUMBER] == "1"
    assert labels[convert.LABEL_ONEOFF] == "False"
    assert labels[convert.LABEL_HASH] == service_hash(p.services["web"])
    assert labels[convert.LABEL_IMAGE] == "sha256:abc"
    assert labels[convert.LABEL_WORKING_DIR] == str(tmp_path)
    assert labels[convert.LABEL_CONFIG_FILES] == str(tmp_path / "compose.yaml")
    assert labels[convert.LABEL_VERSION] == convert.COMPOSE_VERSION
    assert body["User"] == "1000" and body["WorkingDir"] == "/w" and body["Hostname"] == "h"

    net = convert.network_body(p, "back")
    assert net["Name"] == "demo_back"
    assert net["Labels"][convert.LABEL_NETWORK] == "back" and net["Labels"][convert.LABEL_PROJECT] == "demo"
    assert net["IPAM"]["Config"] == [{"Subnet": "10.5.0.0/24"}]
    vol = convert.volume_body(p, "data")
    assert vol == {"Name": "demo_data", "Driver": "local", "Labels": {
        convert.LABEL_VOLUME: "data", convert.LABEL_PROJECT: "demo", convert.LABEL_VERSION: convert.COMPOSE_VERSION}}


def test_create_body_run_overrides(tmp_path: Path) -> None:
    p = project(tmp_path, {"compose.yaml": "name: d\nservices:\n  web:\n    image: x\n    ports: ['80:80']\n"
                                           "    network_mode: host\n"})
    body = convert.create_body(p, "web", 1, oneoff=True, publish=False, command=["sh"], env=["X=1"], tty=True)
    assert body["HostConfig"]["PortBindings"] == {}
    assert body["HostConfig"]["NetworkMode"] == "host" and "NetworkingConfig" not in body
    assert body["Cmd"] == ["sh"] and body["Env"] == ["X=1"] and body["Tty"] is True
    assert body["Labels"][convert.LABEL_ONEOFF] == "True"


def test_default_image_name(tmp_path: Path) -> None:
    p = project(tmp_path, {"compose.yaml": "name: app\nservices:\n  web:\n    build: .\n"})
    assert p.image("web") == "app-web"


def test_working_dir_is_project_directory(tmp_path: Path) -> None:
    write(tmp_path, {"conf/compose.yaml": "services:\n  web:\n    build: ./app\n"})
    p = project(tmp_path, files=["conf/compose.yaml"], project_directory=str(tmp_path))
    assert p.working_dir == str(tmp_path)
    assert p.services["web"]["build"]["context"] == os.path.join(str(tmp_path), "app")
