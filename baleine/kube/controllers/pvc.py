"""The PersistentVolumeClaim controller: each claim is provisioned as a Baleine volume.

Contracts (Kubernetes 1.32 dynamic provisioning, one implicit StorageClass):

- A claim gets the Baleine volume ``pvc-<uid>`` (local driver, labels
  ``io.baleine.kube.pvc=<ns>/<name>`` and
  ``io.baleine.kube.pvc.uid=<uid>``), made through ``ctx.backends.volumes``; then
  ``spec.volumeName`` is set to it (as a bound claim names its PersistentVolume,
  also ``pvc-<uid>``) and the status becomes ``phase: Bound`` with ``capacity``
  the requested storage and the claim's ``accessModes``.
- A claim whose ``spec.volumeName`` names another Baleine volume binds to that
  existing volume (a pre-provisioned PersistentVolume: reclaim policy Retain, it
  is never removed), and stays Pending until it exists. ``volumeMode: Block``
  stays Pending with a ``ProvisioningFailed`` event.
- ``storageClassName`` is recorded as given; a claim without one gets
  :data:`STORAGE_CLASS` (``standard``), as the default StorageClass admission
  does. There is no StorageClass kind: the class is implicit.
- Protection (``kubernetes.io/pvc-protection``): a bound claim carries that
  finalizer; deleted while a pod that has not finished names it, it stays
  (``deletionTimestamp`` set) until the last such pod is gone.
- Reclaim policy Delete: once the claim is gone its volume is removed. While a
  container still uses the volume the engine refuses (Conflict) and the
  controller retries.
  Volumes of claims deleted while the daemon was down are removed at start.
- Without an engine (``ctx.backends is None``) the component does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from ...rules.filters import Filters
from ..controller import Controller
from ..manager import NOTHING, Component, Context

Obj = dict[str, Any]
log = logging.getLogger("baleine.kube.controllers.pvc")

RESOURCE = "persistentvolumeclaims"
STORAGE_CLASS = "standard"
LABEL = "io.baleine.kube.pvc"
UID_LABEL = "io.baleine.kube.pvc.uid"
#: The finalizer that keeps a deleted claim while pods use it.
PROTECTION = "kubernetes.io/pvc-protection"
#: Seconds between attempts to remove a volume still in use.
IN_USE_RETRY = 2.0
#: Seconds between looks for a named volume that does not exist yet.
VOLUME_WAIT = 5.0


def volume_name(claim: Obj) -> str:
    """The Baleine volume (and PersistentVolume name) of a claim."""
    return f"pvc-{claim['metadata']['uid']}"


def claim_label(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


class PVCController(Controller):
    """Binds claims to Baleine volumes and removes the volumes of deleted claims."""

    name = "persistentvolume-binder-controller"
    primary = RESOURCE
    watches = ("pods",)
    resync = 30.0

    def keys_for(self, resource: str, obj: Obj) -> Iterable[tuple[str, str]]:
        """A pod's event concerns the claims its volumes name (protection)."""
        if resource != "pods":
            return super().keys_for(resource, obj)
        ns = obj["metadata"].get("namespace", "")
        return [(ns, v["persistentVolumeClaim"]["claimName"]) for v in (obj.get("spec") or {}).get("volumes") or []
                if (v.get("persistentVolumeClaim") or {}).get("claimName")]

    async def reconcile(self, namespace: str, name: str) -> float | None:
        claim = self.client.get(RESOURCE, namespace, name)
        retry = None
        if claim is not None and claim["metadata"].get("deletionTimestamp"):
            await self._release(claim)
        elif claim is not None:
            retry = await self._bind(claim)
        keep = volume_name(claim) if claim is not None else ""
        removing = await self._remove_orphans(namespace, name, keep)
        return min((d for d in (retry, removing) if d is not None), default=None)

    def users(self, namespace: str, name: str) -> list[str]:
        """The pods of ``namespace`` that use the claim and have not finished."""
        return [p["metadata"]["name"] for p in self.client.list("pods", namespace)
                if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
                and any((v.get("persistentVolumeClaim") or {}).get("claimName") == name
                        for v in (p.get("spec") or {}).get("volumes") or [])]

    async def _release(self, claim: Obj) -> None:
        """A deleted claim goes once no pod uses it (``kubernetes.io/pvc-protection``):
        drop the finalizer, and the collector removes the claim."""
        meta = claim["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        if PROTECTION not in finalizers or self.users(meta["namespace"], meta["name"]):
            return
        finalizers.remove(PROTECTION)
        meta["finalizers"] = finalizers
        await self.client.update(RESOURCE, claim)

    async def _protect(self, claim: Obj) -> Obj:
        meta = claim["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        if PROTECTION in finalizers:
            return claim
        return await self.client.patch(RESOURCE, meta["namespace"], meta["name"],
                                       {"metadata": {"finalizers": [*finalizers, PROTECTION]}})

    async def _bind(self, claim: Obj) -> float | None:
        """Bind ``claim``: to the Baleine volume its ``spec.volumeName`` names when
        set (pre-provisioned: retained, never removed), else to a new ``pvc-<uid>``;
        then record it (spec, then status). A delay when it must wait."""
        meta, spec = claim["metadata"], claim.get("spec") or {}
        if spec.get("volumeMode") == "Block":
            await self._pending(claim, "ProvisioningFailed", "Baleine provisions filesystem volumes only "
                                "(volumeMode: Filesystem)")
            return None
        claim = await self._protect(claim)
        chosen = spec.get("volumeName") or volume_name(claim)
        if (claim.get("status") or {}).get("phase") == "Bound" and spec.get("volumeName") == chosen:
            return None
        assert self.ctx.backends is not None and self.ctx.backends.volumes is not None
        volumes = self.ctx.backends.volumes
        if chosen == volume_name(claim):
            await volumes.create(chosen, "local", None, {
                LABEL: claim_label(meta.get("namespace", ""), meta["name"]), UID_LABEL: meta["uid"]})
            message = f"Successfully provisioned volume {chosen} using Baleine's local volume driver"
        else:
            try:
                await volumes.inspect(chosen)
            except Exception:  # noqa: BLE001 - the engine's NotFound: wait for it, as a claim waits for its PV
                await self._pending(claim, "VolumeNotFound", f"the Baleine volume {chosen} does not exist")
                return VOLUME_WAIT
            message = f"Bound to the existing Baleine volume {chosen}"
        if spec.get("volumeName") != chosen or not spec.get("storageClassName"):
            claim = await self.client.patch(RESOURCE, meta["namespace"], meta["name"], {"spec": {
                "volumeName": chosen, "storageClassName": spec.get("storageClassName") or STORAGE_CLASS}})
        requested = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
        status = {"phase": "Bound", "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
                  "capacity": {"storage": requested} if requested else {}}
        await self.client.patch(RESOURCE, meta["namespace"], meta["name"], {"status": status}, "status")
        await self.client.event(claim, "Normal", "ProvisioningSucceeded", message)
        return None

    async def _pending(self, claim: Obj, reason: str, message: str) -> None:
        if (claim.get("status") or {}).get("phase") != "Pending":
            meta = claim["metadata"]
            await self.client.patch(RESOURCE, meta["namespace"], meta["name"], {"status": {"phase": "Pending"}},
                                    "status")
        await self.client.event(claim, "Warning", reason, message)

    async def _remove_orphans(self, namespace: str, name: str, keep: str) -> float | None:
        """Remove the volumes labelled for ``namespace/name`` other than ``keep``;
        a delay when one is still in use."""
        volumes = self.ctx.backends.volumes if self.ctx.backends is not None else None
        if volumes is None:
            return None
        retry = None
        for vol in await volumes.list(Filters({"label": [f"{LABEL}={claim_label(namespace, name)}"]})):
            if vol["Name"] == keep:
                continue
            try:
                await volumes.remove(vol["Name"], False)
                log.info("removed volume %s of deleted claim %s/%s", vol["Name"], namespace, name)
            except Exception as exc:  # noqa: BLE001 - Conflict while a container uses it: try again later
                log.debug("volume %s of deleted claim %s/%s stays for now: %s", vol["Name"], namespace, name, exc)
                retry = IN_USE_RETRY
        return retry

    async def find_orphans(self) -> None:
        """Queue the claims of every labelled volume (claims deleted while down)."""
        volumes = self.ctx.backends.volumes if self.ctx.backends is not None else None
        if volumes is None:
            return
        for vol in await volumes.list(Filters({"label": [LABEL]})):
            ns, _, name = ((vol.get("Labels") or {}).get(LABEL) or "").partition("/")
            if ns and name:
                self.enqueue((ns, name))


async def start(ctx: Context) -> Component:
    if ctx.backends is None or ctx.backends.volumes is None:
        return NOTHING
    controller = PVCController(ctx)
    controller.start()
    await controller.find_orphans()
    return controller
