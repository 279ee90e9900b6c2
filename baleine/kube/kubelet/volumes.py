"""A pod's volumes on the host, and the Docker mounts of its containers.

Contracts (being completed; the signatures are final):

- :class:`PodVolumes` ``setup()`` makes every volume of ``pod['spec']['volumes']``
  ready under ``<data-root>/kube/pods/<uid>/volumes/<plugin>/<name>`` (emptyDir,
  configMap, secret, downwardAPI, projected) or resolves it (persistentVolumeClaim
  to the Baleine volume bound to the claim, hostPath with its type check); raises
  :class:`VolumeError` with kubelet's message when it cannot.
- ``mounts(container)`` gives the container's Docker ``HostConfig.Mounts``.
- ``refresh()`` re-projects configMap/secret/downwardAPI volumes whose source changed.
- ``teardown()`` removes the pod's volume directories (never PVC data).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..manager import Context

Obj = dict[str, Any]


class VolumeError(Exception):
    """A volume cannot be set up (the pod stays ContainerCreating with this message)."""


class PodVolumes:
    """The volumes of one pod (see the module's contracts)."""

    def __init__(self, ctx: Context, pod: Obj) -> None:
        self.ctx = ctx
        self.pod = pod

    async def setup(self) -> None:
        """Make every volume ready; VolumeError when one cannot be."""

    def mounts(self, container: Obj) -> list[dict[str, Any]]:
        """Docker ``HostConfig.Mounts`` for ``container``'s ``volumeMounts``."""
        return []

    async def refresh(self) -> None:
        """Re-project the configMap/secret/downwardAPI volumes whose source changed."""

    async def teardown(self) -> None:
        """Remove the pod's volume directories (not PVC data)."""
