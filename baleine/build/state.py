"""A stage's image state between build steps, and the platform a build targets.

:class:`State` is an image config being built (layer diff IDs, container
config, history) with the stage's build arguments; its ``id`` is the image ID
it would have, which chains cache keys. ``scratch_config``/``base_config`` are
the states ``FROM scratch`` and ``FROM image`` start from. This daemon builds
for its own platform only (:func:`check_platform`); :func:`platform_args` are
the predefined ``BUILDPLATFORM``/``TARGETARCH``... arguments.
"""

from __future__ import annotations

import copy
import hashlib
import json
import platform as platform_mod
from dataclasses import dataclass, field
from typing import Any

from ..engine.images.records import Image
from ..engine.images.snapshots import chain_ids
from ..rules.errors import InvalidParameter

DEFAULT_SHELL = ["/bin/sh", "-c"]
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: Build arguments usable without an ARG instruction, kept out of the cache key and history.
PROXY_ARGS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY",
              "no_proxy", "ALL_PROXY", "all_proxy")


def host_platform() -> tuple[str, str, str]:
    """(os, architecture, variant) of this machine, in OCI terms."""
    machine = platform_mod.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm",
            "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64", "i686": "386", "i386": "386"}.get(
        machine, machine)
    variant = "v7" if machine == "armv7l" else ""
    return "linux", arch, variant


def platform_string() -> str:
    os_, arch, variant = host_platform()
    return f"{os_}/{arch}" + (f"/{variant}" if variant else "")


def check_platform(value: str) -> None:
    """InvalidParameter unless ``value`` is empty or names this machine's platform."""
    if not value:
        return
    os_, arch, variant = host_platform()
    parts = value.lower().split("/")
    ok = parts[0] == os_ and (len(parts) < 2 or parts[1] in (arch, "x86_64" if arch == "amd64" else arch)) and \
        (len(parts) < 3 or parts[2] == variant or (arch == "amd64" and parts[2] == "v1"))
    if not ok or len(parts) > 3:
        raise InvalidParameter(f"platform {value!r} is not supported: this daemon builds for "
                               f"{platform_string()} only")


def platform_args() -> dict[str, str]:
    """The predefined platform ARGs (BUILDPLATFORM, TARGETARCH...)."""
    os_, arch, variant = host_platform()
    plat = platform_string()
    out = {}
    for prefix in ("BUILD", "TARGET"):
        out[prefix + "PLATFORM"] = plat
        out[prefix + "OS"] = os_
        out[prefix + "ARCH"] = arch
        out[prefix + "VARIANT"] = variant
    return out


# -- image states ------------------------------------------------------------------------


def config_bytes(config: dict[str, Any]) -> bytes:
    """The stored form of an image config (as ``Images.create`` writes it)."""
    return json.dumps(config, separators=(",", ":")).encode()


@dataclass
class State:
    """A stage's image state between steps."""

    config: dict[str, Any]
    args: dict[str, str | None] = field(default_factory=dict)
    cmd_set: bool = False

    @property
    def id(self) -> str:
        """The image ID this state would have (sha256 of its stored config)."""
        return "sha256:" + hashlib.sha256(config_bytes(self.config)).hexdigest()

    @property
    def short(self) -> str:
        return self.id[7:19]

    @property
    def cfg(self) -> dict[str, Any]:
        """The container config section (created if missing)."""
        c = self.config.get("config")
        if c is None:
            c = self.config["config"] = {}
        return c

    @property
    def diff_ids(self) -> list[str]:
        return list((self.config.get("rootfs") or {}).get("diff_ids") or [])

    @property
    def top(self) -> str:
        ids = chain_ids(self.diff_ids)
        return ids[-1] if ids else ""

    @property
    def env(self) -> list[str]:
        return list(self.cfg.get("Env") or [])

    def env_map(self) -> dict[str, str]:
        out = {}
        for e in self.env:
            k, _, v = e.partition("=")
            out[k] = v
        return out

    @property
    def shell(self) -> list[str]:
        return list(self.cfg.get("Shell") or DEFAULT_SHELL)

    def expand_env(self) -> dict[str, str]:
        """Variables for expansion: declared ARGs with a value, overridden by ENV."""
        out = {k: v for k, v in self.args.items() if v is not None}
        out.update(self.env_map())
        return out

    def clone(self) -> "State":
        return State(copy.deepcopy(self.config), dict(self.args), self.cmd_set)


def scratch_config() -> dict[str, Any]:
    os_, arch, variant = host_platform()
    cfg: dict[str, Any] = {"architecture": arch, "os": os_}
    if variant:
        cfg["variant"] = variant
    cfg.update({"config": {"Env": [DEFAULT_PATH]}, "rootfs": {"type": "layers", "diff_ids": []}, "history": []})
    return cfg


def base_config(image: Image) -> dict[str, Any]:
    """A stage's starting config from an image: the image's, without per-build fields."""
    cfg = copy.deepcopy(image.config)
    for key in ("container", "container_config", "docker_version", "id", "parent"):
        cfg.pop(key, None)
    cfg.setdefault("config", {})
    if cfg["config"] is None:
        cfg["config"] = {}
    cfg.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    cfg.setdefault("history", [])
    return cfg
