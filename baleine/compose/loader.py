"""Loading a compose project: the entry point is :func:`load`.

Steps, as docker compose v2 takes them:

1. the files: ``-f`` (repeatable), else ``COMPOSE_FILE`` (``:``-separated, or
   ``COMPOSE_PATH_SEPARATOR``), else the first of ``compose.yaml``, ``compose.yml``,
   ``docker-compose.yaml``, ``docker-compose.yml`` found in the working directory
   or its parents, with its ``compose.override.yaml`` (or ``…override.yml``,
   ``docker-compose.override.y(a)ml``) beside it;
2. the environment: ``--env-file`` files (or the project directory's ``.env``),
   under the process environment, which wins;
3. each file: parsed (``yamlfile``), interpolated, validated against the schema
   (errors name the file, line and path), its ``include`` entries loaded as projects
   of their own and imported, its services' ``extends`` applied; then merged over
   the files before it (``merge``);
4. relative paths resolved against the project directory (the first file's, or
   ``--project-directory``); the project name chosen (``-p``,
   ``COMPOSE_PROJECT_NAME``, ``name:``, the directory's name);
5. profiles applied (``--profile``, ``COMPOSE_PROFILES``; services named on the
   command line are enabled with their dependencies);
6. everything normalised, then checked: unknown services in ``depends_on``, unknown
   networks, volumes, secrets and configs, dependency cycles, clashing
   ``container_name`` — all before anything is created.

Reading files is the only side effect.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import dotenv, graph, schema, yamlfile
from .errors import ComposeError
from .interpolation import interpolate
from .merge import enforce_unicity, merge, merge_service, to_list
from .model import Project
from .normalize import (check_project_name, normalize_network, normalize_project_name, normalize_service,
                        normalize_volume, resolve_paths, resolve_service_paths, scale_of)

DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDE_FILES = ("compose.override.yaml", "compose.override.yml", "docker-compose.override.yaml",
                  "docker-compose.override.yml")


@dataclass
class Options:
    """What the command line says about the project (docker compose's global flags).

    ``services`` are the services named on the command line: they are enabled even
    when their profiles are not. ``environ`` defaults to the process environment.
    """

    files: list[str] = field(default_factory=list)
    project_name: str | None = None
    project_directory: str | None = None
    env_files: list[str] | None = None
    profiles: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    environ: Mapping[str, str] | None = None
    working_dir: str | None = None
    interpolate: bool = True
    stdin: Callable[[], str] | None = None


@dataclass
class _Source:
    """One file as read: its path, data and the line of each path in it."""

    path: str
    data: dict[str, Any]
    positions: yamlfile.Positions


def find_files(start: str) -> list[str]:
    """The default compose file found in ``start`` or its parents, with its override
    file when there is one; ComposeError when none is found."""
    directory = os.path.abspath(start)
    while True:
        for name in DEFAULT_FILES:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                files = [candidate]
                for override in OVERRIDE_FILES:
                    path = os.path.join(directory, override)
                    if os.path.isfile(path):
                        files.append(path)
                        break
                return files
        parent = os.path.dirname(directory)
        if parent == directory:
            raise ComposeError("no configuration file provided: not found")
        directory = parent


def _read_env(env_files: list[str] | None, project_dir: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The interpolation environment: the env files' variables under ``environ``."""
    files = env_files
    if files is None:
        default = os.path.join(project_dir, ".env")
        files = [default] if os.path.isfile(default) else []
    values: dict[str, str] = {}
    for path in files:
        if os.path.isdir(path):
            raise ComposeError(f"{path} is a directory, not an env file")
        if not os.path.exists(path):
            raise ComposeError(f"couldn't find env file: {path}")

        def lookup(key: str) -> str | None:
            return environ.get(key, values.get(key))

        values.update(dotenv.read(path, lookup))
    env = dict(values)
    env.update(environ)
    return env


def _parse(path: str, text: str | None = None) -> tuple[dict[str, Any], yamlfile.Positions]:
    if text is None:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise ComposeError(f"open {path}: {(exc.strerror or str(exc)).lower()}") from None
    data, positions = yamlfile.load(text, path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ComposeError("top-level object must be a mapping", path)
    return data, positions


class _Loader:
    """One load: the environment, the warnings, and the include/extends stacks."""

    def __init__(self, env: Mapping[str, str], do_interpolate: bool, warnings: list[str],
                 sources: list[_Source]) -> None:
        self.env = env
        self.do_interpolate = do_interpolate
        self.warnings = warnings
        self.sources = sources
        self.unset: set[str] = set()

    def warn_unset(self, name: str) -> None:
        if name not in self.unset:
            self.unset.add(name)
            self.warnings.append(f'The "{name}" variable is not set. Defaulting to a blank string.')

    def read(self, path: str, text: str | None = None) -> _Source:
        """Parse, interpolate and validate one file."""
        data, positions = _parse(path, text)
        if self.do_interpolate:
            data = interpolate(data, self.env, path, self.warn_unset)
        schema.validate(yamlfile.strip_tags(data), path, positions)
        source = _Source(path, data, positions)
        self.sources.append(source)
        return source

    def model(self, paths: list[str], include_stack: tuple[str, ...] = (),
              texts: dict[str, str] | None = None) -> dict[str, Any]:
        """The merged model of ``paths`` (includes imported, extends applied)."""
        merged: dict[str, Any] | None = None
        for path in paths:
            source = self.read(path, (texts or {}).get(path))
            data = dict(source.data)
            includes = data.pop("include", None)
            if isinstance(data.get("services"), dict):
                data["services"] = self.extends(data["services"], path)
            if includes:
                data = self.include(includes, data, path, include_stack + (path,))
            merged = enforce_unicity(yamlfile.strip_tags(data)) if merged is None else merge(merged, data)
        return merged or {}

    # -- extends ----------------------------------------------------------------------

    def extends(self, services: dict[str, Any], path: str) -> dict[str, Any]:
        """Every service of a file with its ``extends`` applied."""
        cache: dict[tuple[str, str], dict[str, Any]] = {}
        out = {}
        for name in services:
            out[name] = self._extend(name, services, path, (), cache)
        return out

    def _extend(self, name: str, services: dict[str, Any], path: str, stack: tuple[tuple[str, str], ...],
                cache: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
        key = (path, name)
        if key in cache:
            return cache[key]
        svc = services[name] or {}
        ext = svc.get("extends") if isinstance(svc, dict) else None
        if ext is None:
            return svc
        if key in stack:
            chain = " -> ".join(f"{n}" for _, n in stack + (key,))
            raise ComposeError(f"circular reference with extends: {chain}", path, f"services.{name}.extends")
        if isinstance(ext, str):
            ext = {"service": ext}
        base_name = ext.get("service")
        base_file = ext.get("file")
        if base_file:
            other = os.path.join(os.path.dirname(path), os.path.expanduser(str(base_file)))
            other = os.path.normpath(other)
            source = self.read(other)
            base_services = source.data.get("services") or {}
            if base_name not in base_services:
                raise ComposeError(f"cannot extend service {base_name!r} in {other}: service not found",
                                   path, f"services.{name}.extends")
            base = self._extend(base_name, base_services, other, stack + (key,), cache)
            # Relative paths of the extended service are relative to its own file.
            base = resolve_service_paths(yamlfile.strip_tags(base), os.path.dirname(other))
        else:
            if base_name not in services:
                raise ComposeError(f"cannot extend service {base_name!r}: service not found", path,
                                   f"services.{name}.extends")
            base = self._extend(base_name, services, path, stack + (key,), cache)
        base = {k: v for k, v in base.items() if k != "extends"}
        own = {k: v for k, v in svc.items() if k != "extends"}
        result = merge_service(base, own, name)
        cache[key] = result
        return result

    # -- include ----------------------------------------------------------------------

    def include(self, includes: list[Any], data: dict[str, Any], path: str,
                stack: tuple[str, ...]) -> dict[str, Any]:
        """``data`` with the resources of its ``include`` entries imported."""
        base_dir = os.path.dirname(path)
        for i, entry in enumerate(includes):
            if isinstance(entry, str):
                entry = {"path": entry}
            paths = [os.path.normpath(os.path.join(base_dir, os.path.expanduser(str(p))))
                     for p in to_list(entry.get("path"))]
            if not paths:
                raise ComposeError("include requires a path", path, f"include[{i}]")
            for p in paths:
                if p in stack:
                    raise ComposeError(f"include cycle detected: {' -> '.join(stack + (p,))}", path, f"include[{i}]")
                if not os.path.exists(p):
                    raise ComposeError(f"included file {p} not found", path, f"include[{i}]")
            project_dir = entry.get("project_directory")
            project_dir = (os.path.normpath(os.path.join(base_dir, str(project_dir))) if project_dir
                           else os.path.dirname(paths[0]))
            env_files = entry.get("env_file")
            env_list = ([os.path.normpath(os.path.join(base_dir, str(e))) for e in to_list(env_files)]
                        if env_files is not None else None)
            environ = {k: v for k, v in self.env.items()}
            sub_env = _read_env(env_list, project_dir, environ)
            sub = _Loader(sub_env, self.do_interpolate, self.warnings, self.sources)
            sub.unset = self.unset
            model = resolve_paths(sub.model(paths, stack), project_dir)
            data = _import(data, model, paths[0], path)
        return data


def _import(target: dict[str, Any], imported: dict[str, Any], included: str, path: str) -> dict[str, Any]:
    """Resources of an included model added to ``target``; conflicting definitions fail."""
    out = dict(target)
    for kind in ("services", "networks", "volumes", "secrets", "configs"):
        resources = imported.get(kind) or {}
        if not resources:
            continue
        mine = dict(out.get(kind) or {})
        for name, definition in resources.items():
            if name in mine and yamlfile.strip_tags(mine[name]) != definition:
                raise ComposeError(f"imported compose file {included} defines conflicting {kind[:-1]} {name!r}",
                                   path, f"{kind}.{name}")
            mine[name] = definition
        out[kind] = mine
    return out


def _split_files(value: str, environ: Mapping[str, str]) -> list[str]:
    sep = environ.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
    return [f for f in value.split(sep) if f]


def resolve_files(options: Options, environ: Mapping[str, str]) -> tuple[list[str], str]:
    """(the compose files, the project directory) per the options and environment."""
    cwd = os.path.abspath(options.working_dir or os.getcwd())
    files = list(options.files)
    if not files:
        # COMPOSE_FILE may come from the working directory's .env, as with docker compose.
        env_dir = os.path.abspath(options.project_directory) if options.project_directory else cwd
        early = _read_env(options.env_files, env_dir, environ) if options.env_files is not None or \
            os.path.isfile(os.path.join(env_dir, ".env")) else dict(environ)
        if early.get("COMPOSE_FILE"):
            files = _split_files(early["COMPOSE_FILE"], early)
            files = [os.path.join(env_dir, f) for f in files]
        else:
            files = find_files(env_dir if options.project_directory else cwd)
    resolved = []
    for f in files:
        if f == "-":
            resolved.append("-")
            continue
        full = os.path.abspath(os.path.join(cwd, os.path.expanduser(f)))
        if os.path.isdir(full):
            found = next((os.path.join(full, n) for n in DEFAULT_FILES if os.path.isfile(os.path.join(full, n))),
                         None)
            if found is None:
                raise ComposeError(f"no configuration file provided in {full}: not found")
            full = found
        if not os.path.exists(full):
            raise ComposeError(f"open {full}: no such file or directory")
        resolved.append(full)
    if options.project_directory:
        project_dir = os.path.abspath(os.path.join(cwd, options.project_directory))
    elif resolved[0] == "-":
        project_dir = cwd
    else:
        project_dir = os.path.dirname(resolved[0])
    return resolved, project_dir


def load(options: Options) -> Project:
    """The project the options describe; ComposeError (naming file, line and path when
    it can) for anything wrong in it."""
    environ = dict(os.environ if options.environ is None else options.environ)
    files, project_dir = resolve_files(options, environ)
    env = _read_env(options.env_files, project_dir, environ)
    warnings: list[str] = []
    sources: list[_Source] = []
    loader = _Loader(env, options.interpolate, warnings, sources)
    texts: dict[str, str] = {}
    paths = []
    for f in files:
        if f == "-":
            name = os.path.join(project_dir, "<stdin>")
            texts[name] = options.stdin() if options.stdin else ""
            paths.append(name)
        else:
            paths.append(f)
    raw = loader.model(paths, texts=texts)
    raw = resolve_paths(raw, project_dir)

    name = options.project_name or env.get("COMPOSE_PROJECT_NAME") or raw.get("name")
    if name:
        name = check_project_name(str(name))
    else:
        name = normalize_project_name(os.path.basename(project_dir))
        if not name:
            raise ComposeError(f"project name can't be empty: use -p to set one for {project_dir}")

    services_raw: dict[str, Any] = {str(k): (v or {}) for k, v in (raw.get("services") or {}).items()}
    profiles = list(options.profiles) or [p for p in env.get("COMPOSE_PROFILES", "").split(",") if p]

    def where(path: str) -> tuple[str | None, int | None]:
        parts = tuple(int(p) if p.isdigit() else p for p in path.split("."))
        for source in reversed(sources):
            if parts in source.positions:
                return source.path, source.positions[parts]
        return (files[0] if files else None), None

    def fail(message: str, path: str) -> ComposeError:
        file, line = where(path)
        return ComposeError(message, file, path, line)

    services: dict[str, dict[str, Any]] = {}
    for svc_name, svc in services_raw.items():
        try:
            services[svc_name] = normalize_service(svc_name, svc, env, project_dir)
        except ComposeError as exc:
            if exc.file is None and exc.path:
                file, line = where(exc.path)
                raise ComposeError(exc.message, file, exc.path, line) from None
            raise
        if not services[svc_name].get("image") and not services[svc_name].get("build"):
            raise fail(f"service {svc_name!r} has neither an image nor a build context specified",
                       f"services.{svc_name}")

    enabled = _enabled(services, profiles, options.services)
    active = {n: s for n, s in services.items() if n in enabled}
    disabled = {n: s for n, s in services.items() if n not in enabled}

    # References between services (before anything else reads them).
    for svc_name, svc in active.items():
        deps = dict(svc.get("depends_on") or {})
        for dep, spec in list(deps.items()):
            if dep in active:
                continue
            if not spec.get("required", True):
                warnings.append(f"service {svc_name!r} depends on {dep!r}, which is not running "
                                f"(required: false): ignored")
                del deps[dep]
                continue
            if dep in disabled:
                raise fail(f"service {svc_name!r} depends on service {dep!r}, which is disabled by profiles",
                           f"services.{svc_name}.depends_on")
            raise fail(f"service {svc_name!r} depends on undefined service {dep!r}: invalid compose project",
                       f"services.{svc_name}.depends_on")
        if deps:
            svc["depends_on"] = deps
        else:
            svc.pop("depends_on", None)
    cycle = graph.find_cycle(active)
    if cycle:
        raise fail("dependency cycle detected: " + " -> ".join(cycle), f"services.{cycle[0]}.depends_on")

    networks_raw = dict(raw.get("networks") or {})
    volumes_raw = dict(raw.get("volumes") or {})
    for svc_name, svc in active.items():
        for net in svc.get("networks") or {}:
            if net not in networks_raw and net != "default":
                raise fail(f"service {svc_name!r} refers to undefined network {net}: invalid compose project",
                           f"services.{svc_name}.networks")
        for i, v in enumerate(svc.get("volumes") or []):
            if v.get("type") == "volume" and v.get("source") and v["source"] not in volumes_raw:
                raise fail(f"service {svc_name!r} refers to undefined volume {v['source']}: invalid compose project",
                           f"services.{svc_name}.volumes")
        for kind in ("secrets", "configs"):
            for ref in svc.get(kind) or []:
                if ref.get("source") not in (raw.get(kind) or {}):
                    raise fail(f"service {svc_name!r} refers to undefined {kind[:-1]} {ref.get('source')}: "
                               "invalid compose project", f"services.{svc_name}.{kind}")
        mode = svc.get("network_mode") or ""
        if mode.startswith("service:") and mode[len("service:"):] not in active:
            raise fail(f"service {svc_name!r} uses the network stack of undefined service "
                       f"{mode[len('service:'):]!r}", f"services.{svc_name}.network_mode")
        if mode and svc.get("networks"):
            raise fail("'network_mode' and 'networks' cannot be combined", f"services.{svc_name}")
    if any("default" in (s.get("networks") or {}) for s in active.values()) and "default" not in networks_raw:
        networks_raw["default"] = None

    # Container names must be unique.
    owners: dict[str, str] = {}
    for svc_name, svc in active.items():
        cname = svc.get("container_name")
        if not cname:
            continue
        if scale_of(svc) > 1:
            raise fail(f"can't set container_name and {svc_name} as container name must be unique",
                       f"services.{svc_name}.container_name")
        if cname in owners:
            raise fail(f"container name {cname!r} is already used by service {owners[cname]!r}",
                       f"services.{svc_name}.container_name")
        owners[cname] = svc_name

    networks = {k: normalize_network(name, k, v) for k, v in networks_raw.items()}
    volumes = {k: normalize_volume(name, k, v) for k, v in volumes_raw.items()}
    extensions = {k: v for k, v in raw.items() if isinstance(k, str) and k.startswith("x-")}
    return Project(name=name, working_dir=project_dir, config_files=[f for f in paths], services=active,
                   networks=networks, volumes=volumes, secrets=dict(raw.get("secrets") or {}),
                   configs=dict(raw.get("configs") or {}), extensions=extensions, disabled=disabled,
                   environment=env, profiles=profiles, warnings=warnings)


def _enabled(services: dict[str, dict[str, Any]], profiles: list[str], requested: list[str]) -> set[str]:
    """Services enabled by the active profiles, plus those requested and their dependencies."""
    enabled = {n for n, s in services.items()
               if not s.get("profiles") or "*" in profiles or set(s["profiles"]) & set(profiles)}
    for name in requested:
        if name not in services:
            raise ComposeError(f"no such service: {name}")
    if requested:
        enabled |= graph.with_dependencies(services, requested)
    return enabled
