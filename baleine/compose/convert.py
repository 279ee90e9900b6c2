"""A canonical service → what the Engine API is sent: the ``POST /containers/create``
body, the ``com.docker.compose.*`` labels, container names; and the bodies that
create a project's networks and volumes. Pure functions."""

from __future__ import annotations

from typing import Any

from .hashing import service_hash
from .model import Project
from .normalize import duration_ns

LABEL_PROJECT = "com.docker.compose.project"
LABEL_SERVICE = "com.docker.compose.service"
LABEL_NUMBER = "com.docker.compose.container-number"
LABEL_ONEOFF = "com.docker.compose.oneoff"
LABEL_HASH = "com.docker.compose.config-hash"
LABEL_VERSION = "com.docker.compose.version"
LABEL_WORKING_DIR = "com.docker.compose.project.working_dir"
LABEL_CONFIG_FILES = "com.docker.compose.project.config_files"
LABEL_ENV_FILE = "com.docker.compose.project.environment_file"
LABEL_IMAGE = "com.docker.compose.image"
LABEL_DEPENDS_ON = "com.docker.compose.depends_on"
LABEL_REPLACE = "com.docker.compose.replace"
LABEL_NETWORK = "com.docker.compose.network"
LABEL_VOLUME = "com.docker.compose.volume"
LABEL_SLUG = "com.docker.compose.slug"

#: The Compose behaviour this implementation follows, written in the version label:
#: tools compare it with their own version to choose naming rules (docker-compose 1.x
#: treats anything older than 1.21 as the old "project_service_n" scheme).
COMPOSE_VERSION = "2.29.0"


def container_name(project: Project, service: str, number: int) -> str:
    """``container_name``, or docker compose's ``<project>-<service>-<n>``."""
    svc = project.services[service]
    return svc.get("container_name") or f"{project.name}-{service}-{number}"


def oneoff_name(project: Project, service: str, suffix: str) -> str:
    return f"{project.name}-{service}-run-{suffix}"


def network_name(project: Project, key: str) -> str:
    return project.networks[key]["name"]


def volume_name(project: Project, key: str) -> str:
    return project.volumes[key]["name"]


def depends_on_label(svc: dict[str, Any]) -> str:
    return ",".join(f"{dep}:{spec.get('condition', 'service_started')}:{str(bool(spec.get('restart'))).lower()}"
                    for dep, spec in (svc.get("depends_on") or {}).items())


def labels(project: Project, service: str, number: int, *, oneoff: bool = False, image_id: str = "",
           replace: str = "") -> dict[str, str]:
    """The service's own labels and compose's: what ``ps``, ``down`` and other tools
    (docker compose, docker-compose 1.x) find containers by."""
    svc = project.services[service]
    out = dict(svc.get("labels") or {})
    out.update({
        LABEL_PROJECT: project.name,
        LABEL_SERVICE: service,
        LABEL_NUMBER: str(number),
        LABEL_ONEOFF: "True" if oneoff else "False",
        LABEL_HASH: service_hash(svc),
        LABEL_VERSION: COMPOSE_VERSION,
        LABEL_WORKING_DIR: project.working_dir,
        LABEL_CONFIG_FILES: ",".join(project.config_files),
        LABEL_DEPENDS_ON: depends_on_label(svc),
    })
    if image_id:
        out[LABEL_IMAGE] = image_id
    if replace:
        out[LABEL_REPLACE] = replace
    return out


def _restart_policy(svc: dict[str, Any]) -> dict[str, Any]:
    restart = svc.get("restart")
    if restart is None:
        policy = ((svc.get("deploy") or {}).get("restart_policy") or {})
        condition = policy.get("condition")
        if condition == "any":
            return {"Name": "always"}
        if condition == "on-failure":
            return {"Name": "on-failure", "MaximumRetryCount": int(policy.get("max_attempts") or 0)}
        return {"Name": "no"}
    name, _, count = str(restart).partition(":")
    out: dict[str, Any] = {"Name": name}
    if count:
        out["MaximumRetryCount"] = int(count)
    return out


def _bind_string(v: dict[str, Any]) -> str:
    opts = []
    if v.get("read_only"):
        opts.append("ro")
    bind = v.get("bind") or {}
    if bind.get("selinux"):
        opts.append(bind["selinux"])
    if bind.get("propagation"):
        opts.append(bind["propagation"])
    text = f"{v['source']}:{v['target']}"
    return text + (":" + ",".join(opts) if opts else "")


def mounts(project: Project, svc: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """(HostConfig.Binds, HostConfig.Mounts) for a service's ``volumes``.

    Binds that may create their host path go through ``Binds`` (the engine creates a
    missing directory only there, as dockerd does); everything else is a ``Mounts``
    entry, named volumes under their real name (``<project>_<key>``).
    """
    binds: list[str] = []
    out: list[dict[str, Any]] = []
    for v in svc.get("volumes") or []:
        vtype = v.get("type", "volume")
        if vtype == "bind":
            if (v.get("bind") or {}).get("create_host_path", True):
                binds.append(_bind_string(v))
                continue
            m: dict[str, Any] = {"Type": "bind", "Source": v["source"], "Target": v["target"],
                                 "ReadOnly": bool(v.get("read_only"))}
            if (v.get("bind") or {}).get("propagation"):
                m["BindOptions"] = {"Propagation": v["bind"]["propagation"]}
            out.append(m)
        elif vtype == "volume":
            source = v.get("source") or ""
            m = {"Type": "volume", "Target": v["target"], "ReadOnly": bool(v.get("read_only"))}
            if source:
                m["Source"] = project.volumes[source]["name"] if source in project.volumes else source
            if (v.get("volume") or {}).get("nocopy"):
                m["VolumeOptions"] = {"NoCopy": True}
            out.append(m)
        elif vtype == "tmpfs":
            m = {"Type": "tmpfs", "Target": v["target"], "ReadOnly": bool(v.get("read_only"))}
            opts = v.get("tmpfs") or {}
            tmpfs_opts = {}
            if opts.get("size"):
                tmpfs_opts["SizeBytes"] = int(opts["size"])
            if opts.get("mode"):
                tmpfs_opts["Mode"] = int(opts["mode"])
            if tmpfs_opts:
                m["TmpfsOptions"] = tmpfs_opts
            out.append(m)
        else:
            out.append({"Type": vtype, "Source": v.get("source", ""), "Target": v["target"],
                        "ReadOnly": bool(v.get("read_only"))})
    return binds, out


def _healthcheck(hc: dict[str, Any] | None) -> dict[str, Any] | None:
    if not hc:
        return None
    out: dict[str, Any] = {}
    if hc.get("test"):
        out["Test"] = list(hc["test"])
    for key, api in (("interval", "Interval"), ("timeout", "Timeout"), ("start_period", "StartPeriod"),
                     ("start_interval", "StartInterval")):
        if hc.get(key):
            out[api] = duration_ns(hc[key])
    if hc.get("retries") is not None:
        out["Retries"] = int(hc["retries"])
    return out


def network_order(svc: dict[str, Any]) -> list[str]:
    """The service's networks, by ``priority`` (highest first) then name, as compose-go."""
    nets = svc.get("networks") or {}
    return sorted(nets, key=lambda n: (-int((nets[n] or {}).get("priority") or 0), n))


def endpoint(project: Project, service: str, key: str, extra_aliases: list[str] | None = None) -> dict[str, Any]:
    """The EndpointSettings of a service's container on network ``key``: the service name
    as alias (how other services reach it), its own aliases, a fixed address if any."""
    spec = (project.services[service].get("networks") or {}).get(key) or {}
    aliases = [service] + [a for a in spec.get("aliases") or [] if a != service] + list(extra_aliases or [])
    ep: dict[str, Any] = {"Aliases": aliases}
    ipam = {}
    if spec.get("ipv4_address"):
        ipam["IPv4Address"] = spec["ipv4_address"]
    if spec.get("ipv6_address"):
        ipam["IPv6Address"] = spec["ipv6_address"]
    if ipam:
        ep["IPAMConfig"] = ipam
    if spec.get("mac_address"):
        ep["MacAddress"] = spec["mac_address"]
    if spec.get("driver_opts"):
        ep["DriverOpts"] = dict(spec["driver_opts"])
    return ep


def create_body(project: Project, service: str, number: int, *, image_id: str = "", oneoff: bool = False,
                command: list[str] | None = None, entrypoint: list[str] | None = None,
                env: list[str] | None = None, publish: bool = True, tty: bool | None = None,
                stdin_open: bool | None = None, network_mode: str | None = None,
                volumes_from: list[str] | None = None, replace: str = "", user: str | None = None,
                workdir: str | None = None, extra_labels: dict[str, str] | None = None) -> dict[str, Any]:
    """The ``POST /containers/create`` body for replica ``number`` of ``service``.

    ``network_mode`` is the resolved mode when the service says ``service:x``
    (``container:<id>``); ``volumes_from`` the resolved container names. ``publish``
    false leaves ports unpublished (``compose run`` without ``--service-ports``).
    The keyword overrides are ``compose run``'s flags.
    """
    svc = project.services[service]
    env_list = [f"{k}={v}" for k, v in (svc.get("environment") or {}).items() if v is not None]
    if env:
        env_list += env
    exposed: dict[str, dict[str, Any]] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for p in svc.get("ports") or []:
        key = f"{p['target']}/{p.get('protocol', 'tcp')}"
        exposed[key] = {}
        if publish:
            bindings.setdefault(key, []).append({"HostIp": p.get("host_ip", ""), "HostPort": p.get("published", "")})
    for e in svc.get("expose") or []:
        port, _, proto = str(e).partition("/")
        lo, _, hi = port.partition("-")
        for n in range(int(lo), int(hi or lo) + 1):
            exposed[f"{n}/{proto or 'tcp'}"] = {}
    binds, mount_list = mounts(project, svc)
    lbls = labels(project, service, number, oneoff=oneoff, image_id=image_id, replace=replace)
    if extra_labels:
        lbls.update(extra_labels)
    config: dict[str, Any] = {
        "Image": project.image(service),
        "Hostname": svc.get("hostname", ""),
        "Domainname": svc.get("domainname", ""),
        "User": svc.get("user", "") if user is None else user,
        "WorkingDir": svc.get("working_dir", "") if workdir is None else workdir,
        "Env": env_list,
        "Cmd": command if command is not None else svc.get("command"),
        "Entrypoint": entrypoint if entrypoint is not None else svc.get("entrypoint"),
        "Labels": lbls,
        "Tty": bool(svc.get("tty")) if tty is None else tty,
        "OpenStdin": bool(svc.get("stdin_open")) if stdin_open is None else stdin_open,
        "AttachStdin": False, "AttachStdout": False, "AttachStderr": False, "StdinOnce": False,
    }
    if exposed:
        config["ExposedPorts"] = exposed
    if svc.get("stop_signal"):
        config["StopSignal"] = svc["stop_signal"]
    if svc.get("stop_grace_period"):
        config["StopTimeout"] = int(duration_ns(svc["stop_grace_period"]) // 1_000_000_000)
    health = _healthcheck(svc.get("healthcheck"))
    if health:
        config["Healthcheck"] = health
    if svc.get("mac_address"):
        config["MacAddress"] = svc["mac_address"]
    limits = ((svc.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    reservations = ((svc.get("deploy") or {}).get("resources") or {}).get("reservations") or {}
    host: dict[str, Any] = {
        "Binds": binds or None,
        "Mounts": mount_list or None,
        "PortBindings": bindings,
        "RestartPolicy": _restart_policy(svc),
        "CapAdd": svc.get("cap_add"),
        "CapDrop": svc.get("cap_drop"),
        "Privileged": bool(svc.get("privileged")),
        "ReadonlyRootfs": bool(svc.get("read_only")),
        "SecurityOpt": svc.get("security_opt"),
        "ExtraHosts": [h.replace("=", ":", 1) for h in svc.get("extra_hosts") or []] or None,
        "Dns": svc.get("dns"),
        "DnsOptions": svc.get("dns_opt"),
        "DnsSearch": svc.get("dns_search"),
        "GroupAdd": svc.get("group_add"),
        "VolumesFrom": volumes_from or None,
        "Tmpfs": {t.split(":", 1)[0]: (t.split(":", 1)[1] if ":" in t else "") for t in svc.get("tmpfs") or []}
        or None,
        "Sysctls": svc.get("sysctls"),
        "IpcMode": svc.get("ipc", ""),
        "PidMode": svc.get("pid", ""),
        "UTSMode": svc.get("uts", ""),
        "UsernsMode": svc.get("userns_mode", ""),
        "CgroupParent": svc.get("cgroup_parent", ""),
        "Runtime": svc.get("runtime", ""),
        "OomScoreAdj": svc.get("oom_score_adj", 0),
        "DeviceCgroupRules": svc.get("device_cgroup_rules"),
    }
    if svc.get("init") is not None:
        host["Init"] = bool(svc["init"])
    logging = svc.get("logging") or {}
    if logging:
        host["LogConfig"] = {"Type": logging.get("driver", ""), "Config": dict(logging.get("options") or {})}
    memory = svc.get("mem_limit") or limits.get("memory")
    if memory:
        host["Memory"] = int(memory)
    if svc.get("mem_reservation") or reservations.get("memory"):
        host["MemoryReservation"] = int(svc.get("mem_reservation") or reservations["memory"])
    if svc.get("memswap_limit"):
        host["MemorySwap"] = int(svc["memswap_limit"])
    cpus = svc.get("cpus") or limits.get("cpus")
    if cpus:
        host["NanoCpus"] = int(round(float(cpus) * 1e9))
    for key, api in (("cpu_shares", "CpuShares"), ("cpu_quota", "CpuQuota"), ("cpu_period", "CpuPeriod"),
                     ("cpuset", "CpusetCpus"), ("shm_size", "ShmSize")):
        if svc.get(key):
            host[api] = svc[key]
    pids = svc.get("pids_limit") or limits.get("pids")
    if pids:
        host["PidsLimit"] = int(pids)
    if svc.get("oom_kill_disable"):
        host["OomKillDisable"] = True
    if svc.get("ulimits"):
        host["Ulimits"] = [{"Name": k, "Soft": v, "Hard": v} if not isinstance(v, dict)
                           else {"Name": k, "Soft": v.get("soft", 0), "Hard": v.get("hard", 0)}
                           for k, v in svc["ulimits"].items()]
    if svc.get("devices"):
        devices = []
        for d in svc["devices"]:
            if isinstance(d, dict):
                devices.append({"PathOnHost": d.get("source", ""), "PathInContainer": d.get("target", ""),
                                "CgroupPermissions": d.get("permissions", "rwm")})
            else:
                parts = str(d).split(":")
                devices.append({"PathOnHost": parts[0], "PathInContainer": parts[1] if len(parts) > 1 else parts[0],
                                "CgroupPermissions": parts[2] if len(parts) > 2 else "rwm"})
        host["Devices"] = devices
    body: dict[str, Any] = dict(config)
    mode = network_mode or svc.get("network_mode")
    if mode:
        host["NetworkMode"] = mode
    else:
        order = network_order(svc)
        if order:
            host["NetworkMode"] = network_name(project, order[0])
            body["NetworkingConfig"] = {"EndpointsConfig": {
                network_name(project, key): endpoint(project, service, key) for key in order}}
    body["HostConfig"] = {k: v for k, v in host.items() if v is not None}
    return body


def network_body(project: Project, key: str) -> dict[str, Any]:
    """``POST /networks/create`` for a project network."""
    net = project.networks[key]
    labels_ = dict(net.get("labels") or {})
    labels_.update({LABEL_NETWORK: key, LABEL_PROJECT: project.name, LABEL_VERSION: COMPOSE_VERSION})
    body: dict[str, Any] = {"Name": net["name"], "Driver": net.get("driver") or "bridge", "Labels": labels_,
                            "CheckDuplicate": True}
    if net.get("driver_opts"):
        body["Options"] = dict(net["driver_opts"])
    if net.get("internal"):
        body["Internal"] = True
    if net.get("attachable"):
        body["Attachable"] = True
    if net.get("enable_ipv6"):
        body["EnableIPv6"] = True
    ipam = net.get("ipam") or {}
    if ipam:
        body["IPAM"] = {"Driver": ipam.get("driver") or "default",
                        "Config": [{k2: v for k, v in pool.items()
                                    for k2 in [{"subnet": "Subnet", "gateway": "Gateway", "ip_range": "IPRange",
                                                "aux_addresses": "AuxiliaryAddresses"}.get(k, k)]}
                                   for pool in ipam.get("config") or []],
                        "Options": dict(ipam.get("options") or {})}
    return body


def volume_body(project: Project, key: str) -> dict[str, Any]:
    """``POST /volumes/create`` for a project volume."""
    vol = project.volumes[key]
    labels_ = dict(vol.get("labels") or {})
    labels_.update({LABEL_VOLUME: key, LABEL_PROJECT: project.name, LABEL_VERSION: COMPOSE_VERSION})
    body: dict[str, Any] = {"Name": vol["name"], "Driver": vol.get("driver") or "local", "Labels": labels_}
    if vol.get("driver_opts"):
        body["DriverOpts"] = dict(vol["driver_opts"])
    return body
