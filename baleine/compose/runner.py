"""Running a project through the Engine API, as docker compose does: networks and
volumes named ``<project>_<key>``, containers ``<project>-<service>-<n>`` carrying the
``com.docker.compose.*`` labels, started in dependency order with ``depends_on``
conditions honoured, recreated only when their configuration (the config-hash label)
or their image changed.

Everything goes through ``baleine.client.Client``; API errors surface as
``APIError``, project problems as ``ComposeError``. Progress is reported to a
``progress.Progress``.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..client import APIError, Client
from . import autoscale, balance, convert, graph, parallel, rollout, rolling
from .convert import (LABEL_HASH, LABEL_IMAGE, LABEL_NUMBER, LABEL_ONEOFF, LABEL_PROJECT, LABEL_SERVICE,
                      container_name)
from .errors import ComposeError
from .hashing import service_hash
from .model import Project
from .progress import Progress


@dataclass
class Container:
    """A project container as the list endpoint shows it."""

    id: str
    name: str
    service: str
    number: int
    oneoff: bool
    state: str
    status: str
    labels: dict[str, str]
    image: str
    summary: dict[str, Any]

    @classmethod
    def from_summary(cls, c: dict[str, Any]) -> Container:
        labels = c.get("Labels") or {}
        try:
            number = int(labels.get(LABEL_NUMBER) or 0)
        except ValueError:
            number = 0
        return cls(id=c["Id"], name=(c.get("Names") or ["/"])[0].lstrip("/"), service=labels.get(LABEL_SERVICE, ""),
                   number=number, oneoff=labels.get(LABEL_ONEOFF) == "True", state=c.get("State", ""),
                   status=c.get("Status", ""), labels=labels, image=c.get("Image", ""), summary=c)

    @property
    def running(self) -> bool:
        return self.state in ("running", "restarting")


def _filters(**kw: list[str]) -> str:
    return json.dumps({k: {v: True for v in vals} for k, vals in kw.items() if vals})


class Runner:
    """Operations on one project's resources (see the module docstring)."""

    def __init__(self, client: Client, project: Project, progress: Progress | None = None,
                 out: Callable[[str], None] | None = None) -> None:
        self.client = client
        self.project = project
        self.progress = progress or Progress(mode="quiet")
        self.say = out or (lambda text: print(text, file=sys.stderr))

    # -- queries ------------------------------------------------------------------------

    def containers(self, services: list[str] | None = None, all: bool = True,  # noqa: A002 - docker's name
                   oneoff: bool | None = False, replaced: bool = False) -> list[Container]:
        """The project's containers (of ``services`` when given), ordered by service and
        number. ``oneoff``: False only service containers, True only ``run`` ones, None both.
        Old replicas kept by a rollout (``rolling.is_replaced``) only with ``replaced``."""
        labels = [f"{LABEL_PROJECT}={self.project.name}"]
        if oneoff is not None:
            labels.append(f"{LABEL_ONEOFF}={'True' if oneoff else 'False'}")
        if services and len(services) == 1:
            labels.append(f"{LABEL_SERVICE}={services[0]}")
        items = self.client.containers.list(all=all, filters=_filters(label=labels))
        out = [Container.from_summary(c) for c in items]
        if services:
            out = [c for c in out if c.service in services]
        if not replaced:
            out = [c for c in out if not rolling.is_replaced(c)]
        return sorted(out, key=lambda c: (c.service, c.number, c.name))

    def inspect(self, ref: str) -> dict[str, Any]:
        return self.client.containers.inspect(ref)

    def image_id(self, ref: str) -> str | None:
        try:
            return self.client.images.inspect(ref)["Id"]
        except APIError as exc:
            if exc.status == 404:
                return None
            raise

    def orphans(self) -> list[Container]:
        """Containers of this project whose service is not in the model."""
        known = set(self.project.services) | set(self.project.disabled)
        return [c for c in self.containers(oneoff=None) if c.service not in known]

    # -- networks and volumes -----------------------------------------------------------

    def ensure_networks(self, keys: list[str]) -> None:
        """Create the project networks ``keys`` that do not exist; external ones must."""
        for key in keys:
            net = self.project.networks[key]
            name = net["name"]
            resource = f"Network {name}"
            try:
                found = self.client.networks.inspect(name)
            except APIError as exc:
                if exc.status != 404:
                    raise
                found = None
            if net.get("external"):
                if found is None:
                    raise ComposeError(f"network {name} declared as external, but could not be found")
                continue
            if found is not None:
                labels = found.get("Labels") or {}
                if labels.get(LABEL_PROJECT) not in (None, self.project.name):
                    self.say(f"WARN: a network with name {name} exists but was not created for project "
                             f"{self.project.name!r}")
                continue
            self.progress.event(resource, "Creating")
            self.client.networks.create(convert.network_body(self.project, key))
            self.progress.event(resource, "Created")

    def ensure_volumes(self, keys: list[str]) -> None:
        """Create the project volumes ``keys`` that do not exist; external ones must."""
        for key in keys:
            vol = self.project.volumes[key]
            name = vol["name"]
            try:
                found = self.client.volumes.inspect(name)
            except APIError as exc:
                if exc.status != 404:
                    raise
                found = None
            if vol.get("external"):
                if found is None:
                    raise ComposeError(f"external volume \"{name}\" not found")
                continue
            if found is not None:
                continue
            resource = f"Volume {name}"
            self.progress.event(resource, "Creating")
            self.client.volumes.create(convert.volume_body(self.project, key))
            self.progress.event(resource, "Created")

    # -- images ---------------------------------------------------------------------------

    def ensure_images(self, services: list[str], build: str = "auto", pull: str | None = None) -> dict[str, str]:
        """Image IDs of ``services``, building or pulling what is needed.

        ``build``: "always" (``--build``), "never" (``--no-build``), "auto" (build when
        the image is missing). ``pull``: None (each service's ``pull_policy``, default
        missing), "always", "missing", "never".
        """
        ids: dict[str, str] = {}
        to_build = []
        for name in services:
            svc = self.project.services[name]
            ref = self.project.image(name)
            current = self.image_id(ref)
            policy = pull or svc.get("pull_policy") or "missing"
            if svc.get("build"):
                if build == "always" or policy == "build" or (current is None and build != "never"):
                    to_build.append(name)
                    continue
                if current is None:
                    raise ComposeError(f"service {name!r} has no image {ref} and --no-build was given")
                ids[name] = current
                continue
            if policy == "always" or (current is None and policy in ("missing", "if_not_present", "always")):
                self.pull_one(name)
                current = self.image_id(ref)
            if current is None:
                raise ComposeError(f"no such image: {ref} (service {name!r}; pull_policy {policy})")
            ids[name] = current
        if to_build:
            ids.update(self.build(to_build))
        return ids

    def pull_one(self, name: str, quiet: bool = False) -> None:
        """Pull a service's image (``POST /images/create``)."""
        from ..client.auth import pull_headers
        from ..client.credentials import CredentialsError

        ref = self.project.image(name)
        repo, tag = ref, "latest"
        if "@" not in ref and ":" in ref.rsplit("/", 1)[-1]:
            repo, tag = ref.rsplit(":", 1)
        resource = f"Image {ref}"
        self.progress.event(resource, "Pulling")
        try:
            headers = pull_headers(ref)
        except CredentialsError as exc:
            raise ComposeError(str(exc)) from None
        try:
            for msg in self.client.images.pull(repo, tag, headers=headers):
                if msg.get("error"):
                    raise APIError(500, msg["error"])
        except APIError as exc:
            self.progress.event(resource, "Error", exc.message)
            raise
        self.progress.event(resource, "Pulled")

    def build(self, services: list[str], no_cache: bool = False, pull: bool = False, quiet: bool = False,
              build_args: dict[str, str] | None = None) -> dict[str, str]:
        """Build the services' images (``POST /build``); their IDs by service."""
        from ..client.build_context import BuildContextError, prepare

        ids: dict[str, str] = {}
        for name in services:
            svc = self.project.services[name]
            spec = svc.get("build")
            if not spec:
                continue
            ref = self.project.image(name)
            context = spec.get("context") or self.project.working_dir
            dockerfile = spec.get("dockerfile") or "Dockerfile"
            if not os.path.isabs(dockerfile):
                dockerfile = os.path.join(context, dockerfile)
            resource = f"Service {name}"
            self.progress.event(resource, "Building")
            try:
                body, inner = prepare(context, dockerfile)
            except BuildContextError as exc:
                self.progress.event(resource, "Error")
                raise ComposeError(f"service {name!r} failed to build: {exc.message}") from None
            args = {k: v for k, v in (spec.get("args") or {}).items() if v is not None}
            args.update(build_args or {})
            params: dict[str, Any] = {"t": [ref] + list(spec.get("tags") or []), "dockerfile": inner,
                                      "nocache": no_cache or bool(spec.get("no_cache")),
                                      "pull": pull or bool(spec.get("pull")), "rm": True, "q": quiet}
            if args:
                params["buildargs"] = json.dumps(args)
            if spec.get("target"):
                params["target"] = spec["target"]
            if spec.get("labels"):
                params["labels"] = json.dumps(spec["labels"])
            if spec.get("network"):
                params["networkmode"] = spec["network"]
            if spec.get("extra_hosts"):
                params["extrahosts"] = [h.replace("=", ":", 1) for h in spec["extra_hosts"]]
            if spec.get("shm_size"):
                params["shmsize"] = spec["shm_size"]
            if spec.get("cache_from"):
                params["cachefrom"] = json.dumps(spec["cache_from"])
            image_id = ""
            with body:
                for msg in self.client.build.build(body, params, {"Content-Type": "application/x-tar"}):
                    if msg.get("error") or msg.get("errorDetail"):
                        message = msg.get("error") or (msg.get("errorDetail") or {}).get("message", "")
                        self.progress.event(resource, "Error")
                        raise ComposeError(f"service {name!r} failed to build: {message.strip()}")
                    aux = msg.get("aux")
                    if isinstance(aux, dict) and aux.get("ID"):
                        image_id = aux["ID"]
                    text = msg.get("stream")
                    if text and not quiet and text.strip():
                        self.progress.print(f"{name}  | {text.rstrip()}")
            if not image_id:
                image_id = self.image_id(ref) or ""
            ids[name] = image_id
            self.progress.event(resource, "Built")
        return ids

    # -- containers -----------------------------------------------------------------------

    def _resolve_network_mode(self, svc: dict[str, Any]) -> str | None:
        mode = svc.get("network_mode")
        if mode and mode.startswith("service:"):
            target = mode[len("service:"):]
            found = [c for c in self.containers([target]) if c.running] or self.containers([target])
            if not found:
                raise ComposeError(f"service {target!r} has no container to share its network stack with")
            return f"container:{found[0].id}"
        return mode

    def _resolve_volumes_from(self, svc: dict[str, Any]) -> list[str]:
        out = []
        for ref in svc.get("volumes_from") or []:
            ref = str(ref)
            if ref.startswith("container:"):
                out.append(ref[len("container:"):])
                continue
            target, _, mode = ref.partition(":")
            found = self.containers([target])
            if not found:
                raise ComposeError(f"service {target!r} has no container to take volumes from")
            out.append(found[0].name + (f":{mode}" if mode else ""))
        return out

    def create(self, service: str, number: int, image_id: str, *, replace: str = "",
               name: str | None = None, **overrides: Any) -> str:
        """Create replica ``number`` of ``service``; its ID."""
        svc = self.project.services[service]
        if not overrides.get("oneoff"):
            overrides.update(self._balance_overrides(service))
        body = convert.create_body(self.project, service, number, image_id=image_id, replace=replace,
                                   network_mode=self._resolve_network_mode(svc),
                                   volumes_from=self._resolve_volumes_from(svc), **overrides)
        name = name or container_name(self.project, service, number)
        result = self.client.containers.create(body, name=name)
        for w in result.get("Warnings") or []:
            self.say(f"WARN: {w}")
        return result["Id"]

    def _balance_overrides(self, service: str) -> dict[str, Any]:
        """A balanced group's replica: no ports of its own, the group's labels instead
        (see ``compose.balance``); nothing for a plain service."""
        replicas = getattr(self, "_replicas", {}).get(service, self.project.scale(service))
        if not balance.is_balanced(self.project.services[service], replicas):
            return {}
        return {"publish": False, "extra_labels": balance.labels(self.project, service)}

    def start_container(self, ref: str, name: str) -> None:
        resource = f"Container {name}"
        self.progress.event(resource, "Starting")
        try:
            self.client.containers.start(ref)
        except APIError as exc:
            self.progress.event(resource, "Error", exc.message)
            raise
        self.progress.event(resource, "Started")

    def stop_container(self, c: Container, timeout: int | None) -> None:
        resource = f"Container {c.name}"
        self.progress.event(resource, "Stopping")
        try:
            self.client.containers.stop(c.id, timeout=timeout)
        except APIError as exc:
            if exc.status != 304 and exc.status != 404:
                raise
        self.progress.event(resource, "Stopped")

    def remove_container(self, c: Container, volumes: bool = False, force: bool = True) -> None:
        resource = f"Container {c.name}"
        self.progress.event(resource, "Removing")
        try:
            self.client.containers.remove(c.id, force=force, volumes=volumes)
        except APIError as exc:
            if exc.status != 404:
                raise
        self.progress.event(resource, "Removed")

    def _stop_timeout(self, service: str, timeout: int | None) -> int | None:
        if timeout is not None:
            return timeout
        grace = (self.project.services.get(service) or {}).get("stop_grace_period")
        if grace:
            from .normalize import duration_ns

            return int(duration_ns(grace) // 1_000_000_000)
        return None

    def converge(self, service: str, image_id: str, *, scale: int | None = None, force: bool = False,
                 no_recreate: bool = False, timeout: int | None = None, start: bool = True,
                 restart_deps: set[str] | None = None) -> tuple[list[Container], bool]:
        """Bring ``service`` to ``scale`` containers with the current configuration:
        unchanged ones are kept (and started), changed ones recreated, extra ones
        removed. Changed running replicas of a service of several with a
        ``deploy.update_config`` are rolled (``compose.rolling``:
        ComposeError when the rollout paused or rolled back). Returns (the containers, whether
        any was created or recreated)."""
        svc = self.project.services[service]
        existing = self.containers([service])
        want = scale if scale is not None else autoscale.kept_scale(
            svc, len({c.number for c in existing if c.number >= 1}), self.project.scale(service))
        self._replicas = {**getattr(self, "_replicas", {}), service: want}
        expected = service_hash(svc)
        rolling.clear_leftovers(self, service)
        outdated: list[Container] = []  # replicas rolled after the loop (compose.rolling)
        # Rolled only when asked for: without update_config docker compose recreates
        # a service's containers together, and so does Baleine.
        rolled = want > 1 and rollout.declared(svc)
        changed = False
        by_number: dict[int, Container] = {}
        for c in existing:
            if c.number in by_number or c.number < 1 or c.number > want:
                self.stop_container(c, self._stop_timeout(service, timeout))
                self.remove_container(c)
                continue
            by_number[c.number] = c
        result: list[Container] = []
        for number in range(1, want + 1):
            name = container_name(self.project, service, number)
            c = by_number.get(number)
            if c is not None:
                regrouped = balance.stale(c.labels, self.project, service, want)
                stale = c.labels.get(LABEL_HASH) != expected or (
                    image_id and c.labels.get(LABEL_IMAGE) not in (None, "", image_id)) or regrouped
                # A replica changing balancing mode gives up its ports first: recreated, not rolled.
                if (force or stale) and not no_recreate and start and rolled and c.running and not regrouped:
                    outdated.append(c)
                    changed = True
                elif (force or stale) and not no_recreate:
                    self._recreate(c, service, number, image_id, timeout, start)
                    changed = True
                else:
                    resource = f"Container {c.name}"
                    if start and not c.running:
                        self.start_container(c.id, c.name)
                    elif start and restart_deps and any(
                            (svc.get("depends_on") or {}).get(d, {}).get("restart") for d in restart_deps):
                        self.progress.event(resource, "Restarting")
                        self.client.containers.restart(c.id)
                        self.progress.event(resource, "Restarted")
                    else:
                        self.progress.event(resource, "Running")
            else:
                resource = f"Container {name}"
                self.progress.event(resource, "Creating")
                try:
                    cid = self.create(service, number, image_id)
                except APIError as exc:
                    self.progress.event(resource, "Error", exc.message)
                    raise
                self.progress.event(resource, "Created")
                changed = True
                if start:
                    self.start_container(cid, name)
        rolling.roll(self, service, image_id, outdated, timeout)
        result = self.containers([service])
        return result, changed

    def _recreate(self, old: Container, service: str, number: int, image_id: str, timeout: int | None,
                  start: bool) -> str:
        resource = f"Container {old.name}"
        self.progress.event(resource, "Recreate")
        if old.running:
            try:
                self.client.containers.stop(old.id, timeout=self._stop_timeout(service, timeout))
            except APIError as exc:
                if exc.status not in (304, 404):
                    raise
        # The old container keeps its ID but frees the name for its replacement.
        self.client.containers.rename(old.id, f"{old.id[:12]}_{old.name}")
        try:
            cid = self.create(service, number, image_id, replace=old.id)
        except APIError:
            self.client.containers.rename(old.id, old.name)
            raise
        self.client.containers.remove(old.id, force=True)
        self.progress.event(resource, "Recreated")
        if start:
            self.start_container(cid, container_name(self.project, service, number))
        return cid

    # -- dependencies ----------------------------------------------------------------------

    def wait_for(self, service: str, condition: str, timeout: float | None = None,
                 required: bool = True) -> None:
        """Block until ``service``'s containers meet ``condition`` (``service_started``,
        ``service_healthy``, ``service_completed_successfully``); ComposeError when they
        cannot (unhealthy, no healthcheck, exited, failed)."""
        if condition == "service_started":
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        containers = self.containers([service])
        if not containers:
            if required:
                raise ComposeError(f"service {service!r} has no container to wait for")
            return
        for c in containers:
            resource = f"Container {c.name}"
            self.progress.event(resource, "Waiting")
            while True:
                info = self.inspect(c.id)
                state = info.get("State") or {}
                if condition == "service_healthy":
                    health = state.get("Health")
                    if not (info.get("Config") or {}).get("Healthcheck") and health is None:
                        self.progress.event(resource, "Error")
                        raise ComposeError(f"container {c.name} has no healthcheck configured")
                    status = (health or {}).get("Status")
                    if status == "healthy":
                        self.progress.event(resource, "Healthy")
                        break
                    if status == "unhealthy":
                        self.progress.event(resource, "Error")
                        raise ComposeError(f"dependency failed to start: container {c.name} is unhealthy")
                    if not state.get("Running") and state.get("Status") in ("exited", "dead"):
                        self.progress.event(resource, "Error")
                        raise ComposeError(f"dependency failed to start: container {c.name} exited "
                                           f"({state.get('ExitCode')})")
                elif condition == "service_completed_successfully":
                    if state.get("Status") in ("exited", "dead"):
                        code = state.get("ExitCode", 0)
                        if code != 0:
                            self.progress.event(resource, "Error")
                            raise ComposeError(f"service {service!r} didn't complete successfully: exit {code}")
                        self.progress.event(resource, "Exited")
                        break
                else:
                    raise ComposeError(f"unknown depends_on condition {condition!r}")
                if deadline is not None and time.monotonic() > deadline:
                    raise ComposeError(f"timeout waiting for {service} ({condition})")
                time.sleep(0.25)

    def wait_dependencies(self, service: str, scope: set[str]) -> None:
        for dep, spec in (self.project.services[service].get("depends_on") or {}).items():
            if dep not in scope:
                continue
            self.wait_for(dep, spec.get("condition", "service_started"), required=spec.get("required", True))

    # -- up and down ------------------------------------------------------------------------

    def up(self, services: list[str] | None = None, *, no_deps: bool = False, build: str = "auto",
           pull: str | None = None, force_recreate: bool = False, no_recreate: bool = False,
           remove_orphans: bool = False, scale: dict[str, int] | None = None, timeout: int | None = None,
           start: bool = True, no_start: bool = False) -> list[str]:
        """Create (and start) the services, dependencies first. Returns the services
        brought up, in start order."""
        project = self.project
        names = project.check_services(list(services or []))
        order = project.start_order(names, with_deps=not no_deps)
        orphans = self.orphans()
        if orphans:
            if remove_orphans:
                for c in orphans:
                    self.stop_container(c, timeout)
                    self.remove_container(c)
            else:
                self.say(f"WARN: Found orphan containers ({', '.join(c.name for c in orphans)}) for this project. "
                         "If you removed or renamed this service in your compose file, you can run this command "
                         "with the --remove-orphans flag to clean it up.")
        self.ensure_networks(project.used_networks(order))
        self.ensure_volumes(project.used_volumes(order))
        images = self.ensure_images(order, build=build, pull=pull)
        scope = set(order)
        changed: set[str] = set()

        def bring_up(name: str) -> None:
            if start and not no_start:
                self.wait_dependencies(name, scope)
            # Dependencies are done (in_dependency_order): what they changed is known.
            restart_deps = {d for d in set(changed) if d in (project.services[name].get("depends_on") or {})}
            _, did = self.converge(name, images[name], scale=(scale or {}).get(name), force=force_recreate,
                                   no_recreate=no_recreate, timeout=timeout, start=start and not no_start,
                                   restart_deps=restart_deps)
            if did:
                changed.add(name)

        # Independent services come up together, as docker compose does.
        parallel.in_dependency_order(order, lambda n: graph.dependencies(project.services, n), bring_up)
        return order

    def wait_running(self, services: list[str], timeout: float | None = None) -> None:
        """``up --wait``: every container running, and healthy when it has a healthcheck.
        Containers that exited 0 are fine when others wait for their completion."""
        completed_ok = {d for s in self.project.services.values()
                        for d, spec in (s.get("depends_on") or {}).items()
                        if spec.get("condition") == "service_completed_successfully"}
        deadline = None if timeout is None else time.monotonic() + timeout
        for service in services:
            for c in self.containers([service]):
                resource = f"Container {c.name}"
                self.progress.event(resource, "Waiting")
                while True:
                    info = self.inspect(c.id)
                    state = info.get("State") or {}
                    health = (state.get("Health") or {}).get("Status")
                    if state.get("Status") in ("exited", "dead"):
                        if service in completed_ok and state.get("ExitCode") == 0:
                            self.progress.event(resource, "Exited")
                            break
                        self.progress.event(resource, "Error")
                        raise ComposeError(f"container {c.name} exited ({state.get('ExitCode')})")
                    if health == "unhealthy":
                        self.progress.event(resource, "Error")
                        raise ComposeError(f"container {c.name} is unhealthy")
                    if state.get("Running") and health in (None, "healthy"):
                        self.progress.event(resource, "Healthy" if health else "Running")
                        break
                    if deadline is not None and time.monotonic() > deadline:
                        raise ComposeError(f"timeout waiting for container {c.name}")
                    time.sleep(0.25)

    def down(self, *, volumes: bool = False, rmi: str | None = None, remove_orphans: bool = False,
             timeout: int | None = None, services: list[str] | None = None) -> None:
        """Stop and remove the project's containers (dependents first), its networks, and
        with ``volumes`` its named volumes and the containers' anonymous ones; with
        ``rmi`` ("all" or "local") its images."""
        project = self.project
        all_containers = self.containers(oneoff=None, replaced=True)
        known = set(project.services) | set(project.disabled)
        targets = [c for c in all_containers if c.service in known or remove_orphans]
        if services:
            targets = [c for c in targets if c.service in services]
        orphans = [c for c in all_containers if c.service not in known]
        if orphans and not remove_orphans:
            self.say(f"WARN: Found orphan containers ({', '.join(c.name for c in orphans)}) for this project. "
                     "If you removed or renamed this service in your compose file, you can run this command with "
                     "the --remove-orphans flag to clean it up.")
        order = project.start_order([s for s in project.services]) if project.services else []
        rank = {s: i for i, s in enumerate(order)}
        targets.sort(key=lambda c: (-rank.get(c.service, len(rank)), c.number))
        by_service: dict[str, list[Container]] = {}
        for c in targets:
            by_service.setdefault(c.service, []).append(c)

        def stop_service(service: str) -> None:
            for c in by_service[service]:
                if c.running:
                    self.stop_container(c, self._stop_timeout(c.service, timeout))

        # Dependents stop before what they depend on; independent services stop together.
        parallel.in_reverse_dependency_order(
            by_service, lambda n: graph.dependencies(project.services, n) if n in project.services else [],
            stop_service)
        parallel.in_dependency_order([c.id for c in targets], lambda _: (),
                                     lambda cid: self.remove_container(next(c for c in targets if c.id == cid),
                                                                       volumes=volumes))
        if services:
            return
        remaining = self.containers(oneoff=None, replaced=True)
        if remaining:
            return  # orphans kept: their networks are still in use
        names = {n["name"] for n in project.networks.values() if not n.get("external")}
        labelled = self.client.networks.list(filters=_filters(label=[f"{LABEL_PROJECT}={project.name}"]))
        names |= {n["Name"] for n in labelled}
        for name in sorted(names):
            resource = f"Network {name}"
            try:
                self.client.networks.inspect(name)
            except APIError as exc:
                if exc.status == 404:
                    continue
                raise
            self.progress.event(resource, "Removing")
            try:
                self.client.networks.remove(name)
            except APIError as exc:
                if exc.status != 404:
                    self.progress.event(resource, "Error", exc.message)
                    raise
            self.progress.event(resource, "Removed")
        if volumes:
            vnames = {v["name"] for v in project.volumes.values() if not v.get("external")}
            listed = self.client.volumes.list(filters=_filters(label=[f"{LABEL_PROJECT}={project.name}"]))
            vnames |= {v["Name"] for v in listed.get("Volumes") or []}
            for name in sorted(vnames):
                resource = f"Volume {name}"
                try:
                    self.client.volumes.remove(name)
                except APIError as exc:
                    if exc.status == 404:
                        continue
                    self.progress.event(resource, "Error", exc.message)
                    raise
                self.progress.event(resource, "Removed")
        if rmi:
            for service in sorted(project.services):
                svc = project.services[service]
                if rmi == "local" and svc.get("image"):
                    continue
                ref = project.image(service)
                resource = f"Image {ref}"
                try:
                    self.client.images.remove(ref)
                except APIError as exc:
                    if exc.status == 404:
                        continue
                    self.progress.event(resource, "Error", exc.message)
                    continue
                self.progress.event(resource, "Removed")

    # -- one-off containers -----------------------------------------------------------------

    def run_container(self, service: str, image_id: str, **overrides: Any) -> tuple[str, str]:
        """Create a one-off container of ``service`` (``compose run``); (its ID, its name)."""
        name = overrides.pop("name", None) or convert.oneoff_name(self.project, service, secrets.token_hex(6))
        svc = self.project.services[service]
        number = 1
        body_overrides = dict(overrides)
        body = convert.create_body(self.project, service, number, image_id=image_id, oneoff=True,
                                   network_mode=self._resolve_network_mode(svc),
                                   volumes_from=self._resolve_volumes_from(svc), **body_overrides)
        # A one-off container answers to its own name, not to the service's alias.
        for ep in ((body.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}).values():
            ep["Aliases"] = [a for a in ep.get("Aliases") or [] if a != service]
        if body.get("OpenStdin"):
            # Attached like `docker run -i`: stdin closes when the client's input ends.
            body.update(AttachStdin=True, AttachStdout=True, AttachStderr=True, StdinOnce=True)
        result = self.client.containers.create(body, name=name)
        return result["Id"], name


def service_order_for_stop(project: Project, services: list[str]) -> list[str]:
    """Dependents before their dependencies (the reverse of start order)."""
    return list(reversed(graph.start_order(project.services, services)))
