"""This machine as the cluster's one Node: capacity from the host, Ready, addresses, nodeInfo."""

from __future__ import annotations

import os
import platform
import socket
from typing import Any

from .discovery import KUBE_VERSION
from .registry import now

MAX_PODS = 110


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def _memory_kib() -> int:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 0


def _os_image() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return "Linux"


def _internal_ip() -> str:
    """The address of the default route's interface (a UDP connect sends nothing)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("10.255.255.255", 1))
        return s.getsockname()[0]
    except OSError:
        return "127.0.0.1"
    finally:
        s.close()


def describe() -> dict[str, Any]:
    """The Node object for this host (blocking: reads /proc and /etc)."""
    from .. import __version__

    name = socket.gethostname().lower()
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    cpus = str(os.cpu_count() or 1)
    memory = f"{_memory_kib()}Ki"
    stamp = now()
    resources = {"cpu": cpus, "memory": memory, "pods": str(MAX_PODS), "ephemeral-storage": "0"}
    st = os.statvfs("/")
    resources["ephemeral-storage"] = f"{st.f_blocks * st.f_frsize // 1024}Ki"

    def condition(kind: str, status: str, reason: str, message: str) -> dict[str, str]:
        return {"type": kind, "status": status, "reason": reason, "message": message,
                "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}

    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": arch,
            "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": arch,
            "node-role.kubernetes.io/control-plane": ""}},
        "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
        "status": {
            "capacity": resources, "allocatable": dict(resources),
            "conditions": [condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                                     "kubelet has sufficient memory available"),
                           condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                           condition("PIDPressure", "False", "KubeletHasSufficientPID",
                                     "kubelet has sufficient PID available"),
                           condition("Ready", "True", "KubeletReady", "baleine is posting ready status")],
            "addresses": [{"type": "InternalIP", "address": _internal_ip()}, {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"machineID": _read("/etc/machine-id"), "systemUUID": _read("/etc/machine-id"),
                         "bootID": _read("/proc/sys/kernel/random/boot_id"), "kernelVersion": platform.release(),
                         "osImage": _os_image(), "containerRuntimeVersion": f"baleine://{__version__}",
                         "kubeletVersion": KUBE_VERSION, "kubeProxyVersion": KUBE_VERSION,
                         "operatingSystem": "linux", "architecture": arch},
        },
    }
