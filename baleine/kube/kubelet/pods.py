"""A pod worker: one task per pod running it through the engine until it is gone.

Contract: the worker is level-triggered. Each pass of :meth:`PodWorker.sync`
reads the pod, makes one step towards running it (the sandbox, the volumes, the
init containers in order to completion, then the containers, each restarted per
``restartPolicy`` with the crash-loop back-off) and publishes the pod's status
when it changed. It wakes when the agent says the pod changed, when one of its
containers exits, when a probe's verdict changes, when a back-off ends, and every
few seconds anyway. When the pod is deleted (gone, or terminating with a
deletionTimestamp) it stops the containers with the pod's grace period (their
preStop hooks first), removes them and the sandbox, and finishes the deletion of
a terminating pod. A container whose liveness or startup probe fails, or whose
image changed, is stopped the same way and restarted; past
``activeDeadlineSeconds`` the pod's containers are stopped and the pod Fails.

A restart creates a new container (``..._<restartCount+1>``); the previous one is
kept for ``kubectl logs --previous`` and removed at the restart after. On start
the worker adopts the pod's existing containers by the ``io.kubernetes.pod.uid``
label: restart counts and completed init containers survive a daemon restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import time
from typing import TYPE_CHECKING, Any

from ...rules.errors import NotFound
from ...rules.filters import Filters
from ..client import Client
from ..status import APIError
from . import config, hooks, names, pull, sandbox, status
from .backoff import Backoff, describe
from .probes import Prober
from .status import Slot
from .volumes import PodVolumes, VolumeError

if TYPE_CHECKING:
    from ..manager import Context

Obj = dict[str, Any]
log = logging.getLogger("baleine.kube.kubelet")
RESYNC = 5.0


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _finished_at(doc: Obj) -> float:
    """When the container exited, as a monotonic time (for the back-off)."""
    text = (doc.get("State") or {}).get("FinishedAt") or ""
    try:
        when = datetime.datetime.fromisoformat(text[:26].rstrip("Z") + "+00:00")
    except ValueError:
        return time.monotonic()
    age = (datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()
    return time.monotonic() - max(0.0, age)


class PodWorker:
    """Runs one pod (see the module's contract)."""

    def __init__(self, ctx: Context, client: Client, pod: Obj, node_name: str, host_ip: str,
                 backoff: Backoff) -> None:
        self.ctx = ctx
        self.client = client
        self.uid = pod["metadata"]["uid"]
        self.namespace = pod["metadata"].get("namespace", "default")
        self.name = pod["metadata"]["name"]
        self.node_name = node_name
        self.host_ip = host_ip
        self.backoff = backoff
        spec = pod.get("spec") or {}
        self.init = [Slot(c, init=True) for c in spec.get("initContainers") or []]
        self.apps = [Slot(c) for c in spec.get("containers") or []]
        self.sandbox_id = ""
        self.sandbox_attempt = 0
        self.pod_ip = ""
        self.start_time = ""
        self.init_failed = False
        #: (reason, message) of a pod the agent failed as a whole (activeDeadlineSeconds).
        self.failure: tuple[str, str] | None = None
        self.volumes: PodVolumes | None = None
        self.volumes_ready = False
        self._last_pod: Obj | None = pod
        self._wake = asyncio.Event()
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._probers: dict[str, Prober] = {}
        self.task: asyncio.Task[None] | None = None

    # --- the loop ------------------------------------------------------------
    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"pod worker {self.namespace}/{self.name}")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        """Stop the worker (the daemon stops: the containers keep running)."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        await self._stop_watchers()
        if self.volumes is not None:  # the file volumes' follower stops (the files stay)
            with contextlib.suppress(Exception):
                await self.volumes.stop()

    async def _run(self) -> None:
        try:
            await self._adopt()
        except Exception:  # noqa: BLE001 - run the pod anyway (a duplicate is better than nothing)
            log.exception("adopting the containers of %s/%s failed", self.namespace, self.name)
        while True:
            self._wake.clear()
            pod = self.client.get("pods", self.namespace, self.name)
            if pod is None or pod["metadata"].get("uid") != self.uid or pod["metadata"].get("deletionTimestamp"):
                try:
                    await self._terminate(pod if pod is not None and pod["metadata"].get("uid") == self.uid
                                          else None)
                    return
                except Exception:  # noqa: BLE001 - try again: the pod must not stay terminating
                    log.exception("terminating pod %s/%s failed", self.namespace, self.name)
                    await asyncio.sleep(2.0)
                    continue
            self._last_pod = pod
            delay: float | None = RESYNC
            try:
                delay = await self.sync(pod)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one bad pass must not end the pod
                log.exception("syncing pod %s/%s failed", self.namespace, self.name)
                delay = 2.0
            try:
                await self._publish()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                log.exception("publishing the status of %s/%s failed", self.namespace, self.name)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(delay or RESYNC, RESYNC))

    # --- adoption --------------------------------------------------------------
    async def _pod_containers(self) -> list[Obj]:
        views = await self.ctx.backends.containers.list(Filters({"label": [f"{names.POD_UID}={self.uid}"]}),
                                                        show_all=True, limit=0, size=False)
        return [v.container.doc for v in views]

    async def _adopt(self) -> None:
        """Take over the containers a previous run of the daemon made for this pod."""
        docs = await self._pod_containers()
        by_name: dict[str, list[Obj]] = {}
        for doc in docs:
            lab = (doc.get("Config") or {}).get("Labels") or {}
            by_name.setdefault(lab.get(names.CONTAINER_NAME, ""), []).append(doc)
        for group in by_name.values():
            group.sort(key=lambda d: names.restart_count_of((d.get("Config") or {}).get("Labels") or {}))
        sandboxes = by_name.pop(names.SANDBOX, [])
        if sandboxes:
            last = sandboxes[-1]
            self.sandbox_attempt = names.restart_count_of(last["Config"]["Labels"])
            if (last.get("State") or {}).get("Running"):
                self.sandbox_id = last["Id"]
                self.pod_ip = await sandbox.pod_ip(self.ctx, self.sandbox_id, self.host_ip)
        for slot in self.init + self.apps:
            group = by_name.get(slot.name) or []
            if group:
                slot.current = group[-1]
                slot.previous = group[-2] if len(group) > 1 else None
                slot.restarts = names.restart_count_of(slot.current["Config"]["Labels"])
                if slot.running:
                    self._watch_exit(slot.current["Id"])
                    self._start_prober(slot)
        pod = self.client.get("pods", self.namespace, self.name)
        stored = (pod or {}).get("status") or {}
        self.start_time = stored.get("startTime") or ""
        if stored.get("phase") == "Failed" and stored.get("reason") == "DeadlineExceeded":
            self.failure = (stored["reason"], stored.get("message", ""))

    # --- one pass ----------------------------------------------------------------
    async def sync(self, pod: Obj) -> float | None:
        """One step towards running ``pod``; seconds until the next look wanted (None: the resync)."""
        if not self.start_time:
            self.start_time = _now()
        await self._refresh()
        await self._follow_spec(pod)
        await self._check_deadline(pod)
        if self._finished(pod):
            await self._stop_sandbox()
            return None
        if not self.sandbox_id:
            try:
                await self._start_sandbox(pod)
            except Exception as exc:  # noqa: BLE001 - the engine's refusal, reported as kubelet does
                log.warning("the sandbox of %s/%s: %s", self.namespace, self.name, exc)
                await self.client.event(pod, "Warning", "FailedCreatePodSandBox",
                                        f"Failed to create pod sandbox: {exc}")
                return 5.0
            pod = self.client.get("pods", self.namespace, self.name) or pod  # with its IP (env's status.podIP)
        if not await self._setup_volumes(pod):
            return 2.0
        for slot in self.init:
            if slot.exited and slot.exit_code == 0:
                continue
            if slot.running:
                return None
            if slot.exited and (pod["spec"].get("restartPolicy") == "Never"):
                self.init_failed = True
                return None
            return await self._run_slot(pod, slot)
        delays = [await self._sync_app(pod, slot) for slot in self.apps]
        wanted = [d for d in delays if d is not None]
        return min(wanted) if wanted else None

    async def _follow_spec(self, pod: Obj) -> None:
        """Take the pod's current container specs (only ``image`` may change on a live pod):
        a running container whose image changed is restarted, as kubelet does."""
        specs = {c["name"]: c for c in (pod.get("spec") or {}).get("containers") or []}
        for slot in self.apps:
            spec = specs.get(slot.name)
            if spec is None or spec == slot.spec:
                continue
            changed = spec.get("image") != slot.spec.get("image")
            slot.spec = spec
            if changed and slot.running:
                await self.client.event(pod, "Normal", "Killing",
                                        f"Container {slot.name} definition changed, will be restarted")
                await self._stop_container(pod, slot, self._grace(pod))
                self.backoff.forget(f"{self.uid}/{slot.name}")

    async def _check_deadline(self, pod: Obj) -> None:
        """``activeDeadlineSeconds``: past it, the pod's containers are stopped and it Fails."""
        deadline = (pod.get("spec") or {}).get("activeDeadlineSeconds")
        if self.failure is not None or deadline is None or not self.start_time:
            return
        started = datetime.datetime.strptime(self.start_time, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc)
        if (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds() < float(deadline):
            return
        self.failure = ("DeadlineExceeded", "Pod was active on the node longer than the specified deadline")
        await self.client.event(pod, "Normal", "DeadlineExceeded", self.failure[1])
        running = [s for s in self.init + self.apps if s.running]
        await asyncio.gather(*(self._stop_container(pod, s, self._grace(pod)) for s in running))
        await self._refresh()

    def _finished(self, pod: Obj) -> bool:
        """A pod that ran to its end (its phase will not change again)."""
        if self.init_failed or self.failure is not None:
            return True
        ended = status.phase(pod, self.init, self.apps, self.init_failed) in ("Succeeded", "Failed")
        return ended and all(s.current is not None for s in self.apps)

    async def _refresh(self) -> None:
        """Re-read the current containers' documents (their state may have changed)."""
        for slot in self.init + self.apps:
            if slot.current is None:
                continue
            try:
                slot.current = (await self.ctx.backends.containers.inspect(slot.current["Id"])).container.doc
            except NotFound:
                slot.current = None
        if self.sandbox_id:
            try:
                doc = (await self.ctx.backends.containers.inspect(self.sandbox_id)).container.doc
                if not (doc.get("State") or {}).get("Running"):
                    self.sandbox_id = ""
            except NotFound:
                self.sandbox_id = ""

    async def _start_sandbox(self, pod: Obj) -> None:
        if self.sandbox_attempt or self.pod_ip:
            self.sandbox_attempt += 1
            # A new network namespace: the containers in the old one must go (they restart per policy).
            for slot in self.apps + self.init:
                if slot.running:
                    await self._kill(slot, 0)
            for doc in await self._pod_containers():  # the dead sandbox goes
                labels = (doc.get("Config") or {}).get("Labels") or {}
                if labels.get(names.TYPE) == names.SANDBOX_TYPE:
                    with contextlib.suppress(Exception):
                        await self.ctx.backends.containers.remove(doc["Id"], force=True, volumes=False)
        self.sandbox_id = await sandbox.create(self.ctx, pod, self.sandbox_attempt)
        self.pod_ip = await sandbox.pod_ip(self.ctx, self.sandbox_id, self.host_ip)
        await self._publish()  # the pod's IP before its containers start (env status.podIP reads it)

    async def _stop_sandbox(self) -> None:
        if not self.sandbox_id:
            return
        with contextlib.suppress(Exception):
            await self.ctx.backends.containers.kill(self.sandbox_id, "SIGKILL")
        self.sandbox_id = ""

    async def _setup_volumes(self, pod: Obj) -> bool:
        if self.volumes is not None:
            self.volumes.pod = pod  # its labels and annotations, for downwardAPI files
        if self.volumes_ready:
            return True
        if self.volumes is None:
            self.volumes = PodVolumes(self.ctx, pod)
        try:
            await self.volumes.setup()
        except VolumeError as exc:
            await self.client.event(pod, "Warning", "FailedMount", str(exc))
            return False
        self.volumes_ready = True
        return True

    def _mounts(self, container: Obj) -> list[Obj]:
        return self.volumes.mounts(container) if self.volumes is not None else []

    async def _sync_app(self, pod: Obj, slot: Slot) -> float | None:
        if slot.running:
            probe = slot.extra.pop("failed_probe", None)
            if probe:
                await self.client.event(pod, "Normal", "Killing",
                                        f"Container {slot.name} failed {probe} probe, will be restarted")
                await self._stop_container(pod, slot, self._grace(pod))
                return 0.1
            return None
        await self._stop_prober(slot)
        if slot.current is None:
            return await self._run_slot(pod, slot)
        if not slot.exited:
            return await self._run_slot(pod, slot)  # created but never started (a crash of the daemon)
        policy = pod["spec"].get("restartPolicy") or "Always"
        if policy == "Never" or (policy == "OnFailure" and slot.exit_code == 0):
            slot.waiting = None
            return None
        return await self._run_slot(pod, slot)

    async def _run_slot(self, pod: Obj, slot: Slot) -> float | None:
        """Create and start the slot's next container, unless its back-off holds it."""
        key = f"{self.uid}/{slot.name}"
        if slot.current is not None and slot.exited:
            left = self.backoff.waiting(key, _finished_at(slot.current))
            if left > 0:
                message = (f"back-off {describe(self.backoff.delay(key))} restarting failed container={slot.name} "
                           f"pod={self.name}_{self.namespace}({self.uid})")
                if slot.waiting is None or slot.waiting[0] != "CrashLoopBackOff":
                    await self.client.event(pod, "Warning", "BackOff", "Back-off restarting failed container "
                                            f"{slot.name} in pod {self.name}_{self.namespace}({self.uid})")
                slot.waiting = ("CrashLoopBackOff", message)
                return left
            self.backoff.next(key)
        image_config = await pull.image_config(self.ctx, self.client, pod, slot, self.backoff)
        if image_config is None:
            return self.backoff.waiting(pull.backoff_key(self.uid, slot.name), slot.extra.get("pull_failed", 0.0)) \
                or 10.0
        restarts = slot.restarts + 1 if slot.current is not None else slot.restarts
        try:
            body = config.create_body(self.ctx, pod, slot.spec, image_config, self.sandbox_id, restarts,
                                      slot.init, self._mounts(slot.spec))
        except Exception as exc:  # noqa: BLE001 - env.EnvError and bad quantities: the kubelet's config error
            slot.waiting = ("CreateContainerConfigError", str(exc))
            await self.client.event(pod, "Warning", "Failed", f"Error: {exc}")
            return 5.0
        name = names.container_name(pod, slot.name, restarts)
        containers = self.ctx.backends.containers
        with contextlib.suppress(NotFound):
            await containers.remove(name, force=True, volumes=False)  # a leftover of a crash
        try:
            cid, _ = await containers.create(body, name)
        except Exception as exc:  # noqa: BLE001
            slot.waiting = ("CreateContainerError", str(exc))
            await self.client.event(pod, "Warning", "Failed", f"Error: {exc}")
            return 5.0
        await self.client.event(pod, "Normal", "Created", f"Created container {slot.name}")
        if slot.previous is not None:
            with contextlib.suppress(Exception):
                await containers.remove(slot.previous["Id"], force=True, volumes=False)
        if slot.current is not None:
            slot.previous = slot.current
        slot.restarts = restarts
        slot.current = (await containers.inspect(cid)).container.doc
        try:
            await containers.start(cid)
        except Exception as exc:  # noqa: BLE001 - runc's refusal: the container exits as failed
            await self.client.event(pod, "Warning", "Failed", f"Error: {exc}")
        else:
            await self.client.event(pod, "Normal", "Started", f"Started container {slot.name}")
            if not await hooks.post_start(self.ctx, self.client, pod, slot.spec, cid, self.pod_ip):
                with contextlib.suppress(Exception):
                    await containers.kill(cid, "SIGKILL")
        slot.waiting = None
        slot.current = (await containers.inspect(cid)).container.doc
        if slot.running:
            self._watch_exit(cid)
            self._start_prober(slot)
        return 0.1 if not slot.running else None

    # --- probes and exits --------------------------------------------------------
    def _watch_exit(self, cid: str) -> None:
        if cid in self._watchers:
            return

        async def watch() -> None:
            with contextlib.suppress(Exception):
                waiter = await self.ctx.backends.containers.wait(cid, "not-running")
                await waiter
            self._watchers.pop(cid, None)
            self.wake()

        self._watchers[cid] = asyncio.create_task(watch(), name=f"exit of {cid[:12]}")

    def _start_prober(self, slot: Slot) -> None:
        spec = slot.spec
        if slot.init or not any(spec.get(p) for p in ("livenessProbe", "readinessProbe", "startupProbe")):
            return
        pod = self.client.get("pods", self.namespace, self.name) or {}
        slot.ready = False if spec.get("readinessProbe") else None
        slot.started = False if spec.get("startupProbe") else None

        def changed() -> None:
            if slot.current is None or slot.current["Id"] != cid:
                return
            slot.ready = prober.ready if spec.get("readinessProbe") else None
            slot.started = prober.started if spec.get("startupProbe") else None
            if not prober.live:
                slot.extra["failed_probe"] = "liveness" if prober.started else "startup"
            self.wake()

        cid = slot.current["Id"]
        prober = Prober(self.ctx, pod, spec, cid, changed)
        self._probers[slot.name] = prober
        prober.start()

    async def _stop_prober(self, slot: Slot) -> None:
        """The probes of a container that is not running stop (a new one gets its own)."""
        prober = self._probers.pop(slot.name, None)
        if prober is not None:
            with contextlib.suppress(Exception):
                await prober.stop()

    async def _stop_watchers(self) -> None:
        for task in list(self._watchers.values()):
            task.cancel()
        self._watchers.clear()
        for prober in list(self._probers.values()):
            with contextlib.suppress(Exception):
                await prober.stop()
        self._probers.clear()

    # --- ending --------------------------------------------------------------------
    def _grace(self, pod: Obj | None) -> int:
        if pod is None:
            return 0
        meta, spec = pod["metadata"], pod.get("spec") or {}
        grace = meta.get("deletionGracePeriodSeconds")
        if grace is None:
            grace = spec.get("terminationGracePeriodSeconds", 30)
        return max(0, int(grace))

    async def _kill(self, slot: Slot, grace: int) -> None:
        if slot.current is None:
            return
        with contextlib.suppress(Exception):
            await self.ctx.backends.containers.stop(slot.current["Id"], grace, None)

    async def _stop_container(self, pod: Obj | None, slot: Slot, grace: int) -> None:
        """Its preStop hook, then the stop signal with what is left of the grace period
        (at least 2 s after a hook, as kubelet gives)."""
        if pod is not None and slot.current is not None and grace > 0:
            took = await hooks.pre_stop(self.ctx, self.client, pod, slot.spec, slot.current["Id"], self.pod_ip,
                                        grace)
            if took:
                grace = max(2, int(grace - took))
        await self._kill(slot, grace)

    async def _terminate(self, pod: Obj | None) -> None:
        """Stop everything of the pod with its grace period, remove it, finish its deletion."""
        await self._stop_watchers()
        grace = self._grace(pod)
        running = [s for s in self.apps + self.init if s.running]
        if pod is not None:
            for slot in running:
                await self.client.event(pod, "Normal", "Killing", f"Stopping container {slot.name}")
        await asyncio.gather(*(self._stop_container(pod, s, grace) for s in running))
        await self._stop_sandbox()
        for doc in await self._pod_containers():
            with contextlib.suppress(Exception):
                await self.ctx.backends.containers.remove(doc["Id"], force=True, volumes=False)
        for slot in self.init + self.apps:
            self.backoff.forget(f"{self.uid}/{slot.name}")
            self.backoff.forget(pull.backoff_key(self.uid, slot.name))
        await self._teardown_volumes(pod)
        if pod is not None:
            with contextlib.suppress(APIError):
                await self.ctx.registry.delete(self.client.kind("pods"), self.namespace, self.name, "Background",
                                               {"uid": self.uid}, grace_period=0)

    async def _teardown_volumes(self, pod: Obj | None) -> None:
        """Remove the pod's volume directories, also those a previous run of the daemon set up."""
        if self.volumes is None:
            last = pod or self._last_pod
            if last is None:
                return
            self.volumes = PodVolumes(self.ctx, last)
        with contextlib.suppress(Exception):
            await self.volumes.teardown()

    # --- status --------------------------------------------------------------------
    async def _publish(self) -> None:
        """Write the pod's status if it changed (re-read and retried on a conflict)."""
        for _ in range(5):
            pod = self.client.get("pods", self.namespace, self.name)
            if pod is None or pod["metadata"].get("uid") != self.uid:
                return
            new = status.pod_status(pod, self.init, self.apps, sandbox_ready=bool(self.sandbox_id and self.pod_ip),
                                    pod_ip=self.pod_ip, host_ip=self.host_ip, start_time=self.start_time,
                                    init_failed=self.init_failed, failure=self.failure)
            old = pod.get("status") or {}
            merged = {**old, **new}
            if merged == old:
                return
            pod["status"] = merged
            try:
                await self.client.update_status("pods", pod)
                return
            except APIError as exc:
                if exc.code != 409:
                    raise
