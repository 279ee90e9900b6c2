"""``baleine kube config``: print the admin kubeconfig of the daemon's Kubernetes API server;
``baleine kube generate``: Kubernetes manifests of a compose project, of running containers
or of pods of the built-in Kubernetes API (``pod/NAME -n NS``, as kubectl names them).

The daemon writes it at ``<data-root>/kube/kubeconfig`` (mode 0600, see
baleine/kube/kubeconfig.py). The data root is asked from the daemon's ``/info``
(``DockerRootDir``), so no Kubernetes-specific route enters the Docker API;
``--data-root`` reads it without a daemon. Reading needs the file's owner (root),
exactly like the admin key it holds.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import yaml

from ..compose import loader
from ..compose.errors import ComposeError
from ..kubegen import check, containers, pods, translate
from . import output
from .context import CLIError, Context, Parser


def config(ctx: Context, argv: list[str]) -> int:
    p = Parser("kube config", "[OPTIONS]", "Print the kubeconfig of the built-in Kubernetes API server")
    p.add_argument("--data-root", default="", help="The daemon's data root (default: asked from the daemon)")
    o = p.parse_args(argv)
    root = o.data_root
    if not root:
        with ctx.api():
            root = ctx.client.system.info()["DockerRootDir"]
    path = os.path.join(root, "kube", "kubeconfig")
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        raise CLIError(f"no kubeconfig at {path}: is the daemon serving the Kubernetes API (--kube-addr)?") from None
    except PermissionError:
        raise CLIError(f"cannot read {path}: the admin kubeconfig is readable by root only") from None
    sys.stdout.write(text)
    return 0


def generate(ctx: Context, argv: list[str]) -> int:
    """Print validated manifests; warnings (dropped fields, conversions) on stderr.
    Nothing is printed when a check fails (exit 1)."""
    p = Parser("kube generate", "[OPTIONS] [CONTAINER...|pod/POD...]",
               "Generate Kubernetes manifests from containers, pods or a compose project")
    p.add_argument("targets", nargs="*",
                   help="Containers (names or ids) or pods (pod/NAME, in -n's namespace); none: the compose project")
    p.add_argument("-f", "--file", action="append", default=[], help="Compose file(s)")
    p.add_argument("--project-name", "-p", default=None, help="Compose project name")
    p.add_argument("--project-directory", default=None, help="Compose project directory")
    p.add_argument("-o", "--output", default="", help="Write to this file instead of stdout")
    p.add_argument("--kube-version", default="1.32", help="Kubernetes version to validate against")
    p.add_argument("-n", "--namespace", default="",
                   help="Namespace of the objects, and of the pod/NAME targets (default: default)")
    p.add_argument("--push", action="store_true", help="Push the images first and reference them by digest")
    p.add_argument("--format", default="yaml", choices=["yaml", "json"], help="Output format")
    o = p.parse_args(argv)
    if o.targets and (o.file or o.project_name):
        raise CLIError("give containers or a compose project (-f/--project-name), not both")
    pod_targets = [t for t in (pods.parse_target(t, o.namespace) for t in o.targets) if t]
    if pod_targets and len(pod_targets) != len(o.targets):
        raise CLIError("give pods (pod/NAME) or containers, not both")
    if pod_targets:
        objects, warnings = _pods_objects(ctx, pod_targets, o)
    else:
        project = _containers_project(ctx, o.targets) if o.targets else _compose_project(o)
        exposed: dict[str, list[str]] = {}
        images = _image_refs(ctx, project, o.push, exposed)
        objects, warnings = translate.project_objects(project, o.namespace, images[0], exposed)
        warnings = images[1] + warnings
    for w in warnings:
        sys.stderr.write(f"warning: {w}\n")
    problems = check.check_all(objects, o.kube_version)
    if problems:
        raise CLIError("generated objects are invalid:\n" + "\n".join(problems))
    text = _render(objects, o.format)
    output.emit(text, o.output)
    return 0


def _compose_project(o: Any) -> Any:
    try:
        project = loader.load(loader.Options(files=o.file, project_name=o.project_name,
                                             project_directory=o.project_directory))
    except ComposeError as e:
        raise CLIError(str(e)) from None
    for w in project.warnings:
        sys.stderr.write(f"warning: {w}\n")
    return project


def _containers_project(ctx: Context, targets: list[str]) -> Any:
    services: dict[str, Any] = {}
    with ctx.api():
        for t in targets:
            inspect = ctx.client.containers.inspect(t)
            image = _image_of(ctx, inspect)
            pod = pods.pod_of((inspect.get("Config") or {}).get("Labels"))
            if pod:
                name, svc, warnings = pods.service_of(inspect, image)
                for w in warnings:
                    sys.stderr.write(f"warning: {w}\n")
                sys.stderr.write(f"warning: container {t} is container {name!r} of pod {pod[0]}/{pod[1]}: "
                                 f"'baleine kube generate pod/{pod[1]} -n {pod[0]}' generates the whole pod\n")
                if name in services:  # two pods' containers of one name: the pod tells them apart
                    name = f"{pod[1]}-{name}"
            else:
                name, svc = containers.service_of(inspect, image)
            services[name] = svc
    return containers.project_of(services)


def _image_of(ctx: Context, inspect: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return ctx.client.images.inspect(inspect.get("Image") or "")
    except Exception:  # the image was removed: keep everything the container says
        return None


def _pods_objects(ctx: Context, targets: list[tuple[str, str]], o: Any) -> tuple[list[Any], list[str]]:
    """Objects of each pod (namespace, name): its app containers as one Deployment."""
    objects: list[Any] = []
    warnings: list[str] = []
    for namespace, name in targets:
        services: dict[str, Any] = {}
        with ctx.api():
            listed = ctx.client.containers.list(all=True, filters=json.dumps(pods.pod_filters(namespace, name)))
            inspects = [ctx.client.containers.inspect(c["Id"]) for c in listed]
            warnings += [f"pod {namespace}/{name}: init container {c!r} is not carried"
                         for c in pods.init_containers(inspects)]
            for inspect in pods.app_containers(inspects):
                cname, svc, more = pods.service_of(inspect, _image_of(ctx, inspect))
                services[cname] = svc
                warnings += more
        if not services:
            raise CLIError(f"no containers of pod {name} in namespace {namespace} "
                           "(is it scheduled on this daemon's node? -n sets the namespace)")
        project = containers.project_of(services, name)
        images, image_warnings = _image_refs(ctx, project, o.push)
        got, more = translate.pod_objects(project, name, o.namespace, images)
        objects += got
        warnings += image_warnings + more
    return objects, warnings


def _image_refs(ctx: Context, project: Any, push: bool,
                exposed: dict[str, list[str]] | None = None) -> tuple[dict[str, str], list[str]]:
    """Image reference → digest reference (``repo@sha256:...``) when the image has a
    RepoDigest for its repository (after pushing it with ``--push``); warnings otherwise.
    ``exposed``, when given, is filled with each image's ``ExposedPorts`` keys."""
    refs: dict[str, str] = {}
    warnings: list[str] = []
    wanted = sorted({str(s.get("image")) for s in project.services.values() if s.get("image")})
    with ctx.api():
        for ref in wanted:
            if push:
                _push(ctx, ref)
            try:
                inspect = ctx.client.images.inspect(ref)
            except Exception:
                inspect = {}
            digests = inspect.get("RepoDigests") or []
            if exposed is not None:
                exposed[ref] = sorted((inspect.get("Config") or {}).get("ExposedPorts") or {})
            repo = ref.split("@")[0]
            last = repo.rsplit("/", 1)[-1]
            repo = repo[:len(repo) - len(last)] + last.split(":")[0]
            match = [d for d in digests if d.split("@")[0] in (repo, f"docker.io/library/{repo}",
                                                                  f"docker.io/{repo}")]
            if match:
                refs[ref] = match[0]
            else:
                warnings.append(f"image {ref}: no registry digest, referenced by tag "
                                "(a cluster may pull something else; --push pins it)")
    return refs, warnings


def _push(ctx: Context, ref: str) -> None:
    name, tag = ref, None
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = ref.rsplit(":", 1)
    for msg in ctx.client.images.push(name, tag):
        if msg.get("error") or msg.get("errorDetail"):
            raise CLIError(f"push {ref}: {msg.get('error') or msg['errorDetail'].get('message')}")


def _render(objects: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, indent=2) + "\n"
    return "---\n".join(yaml.safe_dump(o, sort_keys=False) for o in objects)
