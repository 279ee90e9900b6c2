"""How the daemon puts the engine together: the engine, the services over it, the backends.

The distribution service and the builder are made here with what each really uses
(the distribution service gets the engine's stores as ``LocalStores``), instead of
the engine constructing them and them reaching back into it. ``make_backends``
gives the API (and any other client) its one door: ``engine.interface.Backends``.
"""

from __future__ import annotations

from ..build.builder import Builder
from ..build.service import BuildService
from ..distribution.config import RegistryConfig
from ..distribution.service import Distribution, LocalStores
from ..engine.containers.exec_service import ExecService
from ..engine.containers.service import ContainersService
from ..engine.engine import Engine, EngineConfig
from ..engine.images.service import ImageService
from ..engine.interface import Backends
from ..engine.networks.autoscaler import Autoscaler
from ..engine.networks.service import NetworksService
from ..engine.system import SystemService
from ..engine.volumes.service import VolumesService


def registry_config(config: EngineConfig) -> RegistryConfig:
    """--registry-mirror, --insecure-registry and the hub override, from the daemon's options."""
    extra = config.extra
    return RegistryConfig.from_options(
        list(extra.get("registry_mirrors") or []),  # type: ignore[call-overload]
        list(extra.get("insecure_registries") or []),  # type: ignore[call-overload]
        str(extra.get("registry_hub") or "") or None)


def build_engine(config: EngineConfig) -> Engine:
    """The engine with its distribution service and builder (not opened yet).

    The builder comes last: it registers the build cache's layers as collector roots
    (before start-up recovery collects) and pulls base images through the
    distribution service.
    """
    engine = Engine(config)
    engine.distribution = Distribution(LocalStores(
        store=engine.store, images=engine.images, content=engine.content, snapshots=engine.snapshots,
        events=engine.events, gc=engine.gc, tmp_dir=engine.tmp_dir), registry_config(config))
    engine.builder = Builder.for_engine(engine)
    return engine


def make_backends(engine: Engine) -> Backends:
    """Every backend of ``engine``, one per resource."""
    volumes = VolumesService(engine)
    return Backends(
        containers=ContainersService(engine),
        exec=ExecService(engine),
        images=ImageService(engine.images, engine.containers, engine.lifecycle, engine.events, engine.tmp_dir),
        networks=NetworksService(engine),
        volumes=volumes,
        system=SystemService(engine, volumes),
        build=BuildService(engine.builder, engine.tmp_dir),
        distribution=engine.distribution,
    )


def start_autoscaler(engine: Engine, backends: Backends, period: float) -> Autoscaler:
    """The autoscaler of the engine's balanced groups (compose's ``x-baleine-autoscale``),
    syncing every ``period`` seconds (``--hpa-sync-period``), started."""
    assert backends.containers is not None
    autoscaler = Autoscaler(engine.balancer, backends.containers, period)
    autoscaler.start()
    return autoscaler
