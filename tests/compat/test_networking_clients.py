"""Real clients against Baleine's networking and volumes: the docker CLI, docker-py,
and testcontainers-python (postgres:15 and redis:7.0 through published ports)."""

from __future__ import annotations

import json
import os
import socket

import pytest

from ..conftest import DOCKER, Daemon
from ..networking import free_port, http_from_host

needs_docker = pytest.mark.skipif(not os.path.exists(DOCKER), reason="docker CLI not installed")


@needs_docker
def test_docker_cli_networks_volumes_and_ports(daemon: Daemon, name: str) -> None:
    net, vol, web, peer = f"{name}-n", f"{name}-v", f"{name}-web", f"{name}-peer"
    port = free_port()
    try:
        nid = daemon.docker("network", "create", "--label", "via=docker", net, check=True).stdout.strip()
        assert daemon.docker("network", "ls", "-q", "--filter", "label=via=docker", check=True).stdout.split() == \
            [nid[:12]]
        info = json.loads(daemon.docker("network", "inspect", net, check=True).stdout)[0]
        assert info["Driver"] == "bridge" and info["IPAM"]["Config"][0]["Subnet"]
        assert daemon.docker("volume", "create", vol, check=True).stdout.strip() == vol
        assert vol in daemon.docker("volume", "ls", "-q", check=True).stdout.split()
        cid = daemon.docker("run", "-d", "--name", web, "--network", net, "--network-alias", "site",
                            "-p", f"127.0.0.1:{port}:80", "-v", f"{vol}:/www", "busybox", "sh", "-c",
                            "hostname > /www/hostname; httpd -f -p 80 -h /www", check=True).stdout.strip()
        assert http_from_host(port) == cid[:12]
        assert daemon.docker("port", web, check=True).stdout.strip() == f"80/tcp -> 127.0.0.1:{port}"
        ps = daemon.docker("ps", "--filter", f"name={web}", "--format", "{{.Ports}} {{.Networks}}",
                           check=True).stdout.strip()
        assert ps == f"127.0.0.1:{port}->80/tcp {net}"
        daemon.docker("run", "-d", "--name", peer, "busybox", "sleep", "300", check=True)
        daemon.docker("network", "connect", net, peer, check=True)
        out = daemon.docker("exec", peer, "sh", "-c",
                            'printf "GET /hostname HTTP/1.0\\r\\n\\r\\n" | nc -w 3 site 80 | tail -n 1',
                            check=True).stdout.strip()
        assert out == cid[:12]
        daemon.docker("network", "disconnect", net, peer, check=True)
        r = daemon.docker("network", "rm", net)
        assert r.returncode != 0 and "has active endpoints" in r.stderr
        r = daemon.docker("volume", "rm", vol)
        assert r.returncode != 0 and "volume is in use" in r.stderr
        mounts = json.loads(daemon.docker("inspect", "-f", "{{json .Mounts}}", web, check=True).stdout)
        assert mounts[0]["Name"] == vol and mounts[0]["Destination"] == "/www"
        r = daemon.docker("run", "--rm", "-p", f"127.0.0.1:{port}:80", "busybox", "true")
        assert r.returncode == 125 and "port is already allocated" in r.stderr
        r = daemon.docker("network", "create", "--subnet", info["IPAM"]["Config"][0]["Subnet"], f"{name}-x")
        assert r.returncode == 1 and "Pool overlaps with other one on this address space" in r.stderr
    finally:
        daemon.docker("rm", "-f", web, peer)
        daemon.docker("network", "rm", net)
        daemon.docker("volume", "rm", vol)
    assert net not in daemon.docker("network", "ls", "--format", "{{.Name}}", check=True).stdout.split()


def test_docker_py_networks_and_volumes(daemon: Daemon, name: str) -> None:
    import docker

    client = daemon.api()
    net = vol = web = None
    try:
        net = client.networks.create(f"{name}-n", driver="bridge", labels={"via": "docker-py"},
                                     ipam=docker.types.IPAMConfig(pool_configs=[]))
        assert client.networks.get(net.id).name == f"{name}-n"
        assert [n.id for n in client.networks.list(filters={"label": "via=docker-py"})] == [net.id]
        vol = client.volumes.create(f"{name}-v", labels={"via": "docker-py"})
        assert client.volumes.get(vol.name).attrs["Labels"] == {"via": "docker-py"}
        web = client.containers.run("busybox", ["httpd", "-f", "-p", "80", "-h", "/etc"], detach=True,
                                    name=f"{name}-web", network=net.name, ports={"80/tcp": ("127.0.0.1", None)},
                                    volumes={vol.name: {"bind": "/data", "mode": "rw"}})
        web.reload()
        host_port = int(web.ports["80/tcp"][0]["HostPort"])
        assert http_from_host(host_port) == web.id[:12]
        assert client.api.port(web.id, 80) == [{"HostIp": "127.0.0.1", "HostPort": str(host_port)}]
        other = client.containers.run("busybox", ["sleep", "300"], detach=True, name=f"{name}-other")
        try:
            net.connect(other, aliases=["buddy"])
            net.reload()
            assert {c.name for c in net.containers} == {f"{name}-web", f"{name}-other"}
            rc, out = web.exec_run(["nslookup", "buddy"])
            assert rc == 0 and b"Address" in out
            net.disconnect(other)
        finally:
            other.remove(force=True)
        web.remove(force=True)
        web = None
        assert vol.name in [v.name for v in client.volumes.list(filters={"dangling": True})]
        pruned = client.networks.prune(filters={"label": "via=docker-py"})
        assert pruned["NetworksDeleted"] == [f"{name}-n"]
        net = None
        vol.remove()
        vol = None
    finally:
        if web is not None:
            web.remove(force=True)
        if net is not None:
            net.remove()
        if vol is not None:
            vol.remove(force=True)
        client.close()


def test_testcontainers_postgres_and_redis(bookworm_daemon: Daemon, monkeypatch) -> None:
    pytest.importorskip("testcontainers")
    pg8000 = pytest.importorskip("pg8000.native")
    pytest.importorskip("redis")
    monkeypatch.setenv("DOCKER_HOST", bookworm_daemon.host)
    monkeypatch.setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
    monkeypatch.setenv("DOCKER_CONFIG", str(bookworm_daemon.root / "docker-config"))
    from testcontainers.core.config import testcontainers_config

    try:  # testcontainers ≥ 4.14 moved the modules
        from testcontainers.community.postgres import PostgresContainer
        from testcontainers.community.redis import RedisContainer
    except ImportError:
        from testcontainers.postgres import PostgresContainer
        from testcontainers.redis import RedisContainer

    monkeypatch.setattr(testcontainers_config, "ryuk_disabled", True)
    with PostgresContainer("postgres:15", driver=None) as pg:
        host, port = pg.get_container_host_ip(), int(pg.get_exposed_port(5432))
        con = pg8000.Connection(pg.username, host=socket.gethostbyname(host), port=port, password=pg.password,
                                database=pg.dbname)
        try:
            assert con.run("SELECT 6 * 7")[0][0] == 42
        finally:
            con.close()
    with RedisContainer("redis:7.0") as rd:
        client = rd.get_client()
        assert client.ping()
        client.set("k", "v")
        assert client.get("k") == b"v"
        client.close()
    # Both gone, nothing left behind.
    assert bookworm_daemon.ok("ps", "-aq", "--filter", "ancestor=postgres:15") == ""
