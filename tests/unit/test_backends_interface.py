"""Each engine service implements its backend Protocol (engine/interface): the same
methods, async where the Protocol's are, with the same parameters. The daemon's
wiring fills the fields it owns with them."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest

from baleine.daemon import wiring
from baleine.engine.containers.exec_service import ExecService
from baleine.engine.containers.service import ContainersService
from baleine.engine.interface import Backends
from baleine.engine.interface.containers import ContainersBackend
from baleine.engine.interface.exec import ExecBackend
from baleine.engine.interface.networks import NetworksBackend
from baleine.engine.interface.system import SystemBackend
from baleine.engine.interface.volumes import VolumesBackend
from baleine.engine.networks.service import NetworksService
from baleine.engine.system import SystemService
from baleine.engine.volumes.service import VolumesService

PAIRS = [(ContainersBackend, ContainersService), (ExecBackend, ExecService), (NetworksBackend, NetworksService),
         (VolumesBackend, VolumesService), (SystemBackend, SystemService)]


def _methods(cls: type) -> dict[str, object]:
    return {name: fn for name, fn in vars(cls).items() if inspect.isfunction(fn) and not name.startswith("_")}


@pytest.mark.parametrize(("protocol", "service"), PAIRS, ids=[p.__name__ for p, _ in PAIRS])
def test_service_implements_its_protocol(protocol: type, service: type) -> None:
    wanted, have = _methods(protocol), _methods(service)
    assert wanted, f"{protocol.__name__} declares no method"
    assert sorted(have) == sorted(wanted)
    for name, fn in wanted.items():
        impl = have[name]
        assert inspect.iscoroutinefunction(impl) == inspect.iscoroutinefunction(fn), name
        assert list(inspect.signature(impl).parameters) == list(inspect.signature(fn).parameters), name
        assert (fn.__doc__ or "").strip(), f"{protocol.__name__}.{name} states no contract"


def test_wiring_fills_every_backend() -> None:
    # The services only keep the engine at construction: any object with the
    # attributes they read will do.
    engine = SimpleNamespace(**{name: object() for name in (
        "volumes", "mountpoints", "images", "containers", "lifecycle", "events", "tmp_dir", "builder",
        "distribution")})
    backends = wiring.make_backends(engine)  # type: ignore[arg-type]
    for name, (_, service) in zip(("containers", "exec", "networks", "volumes", "system"), PAIRS):
        assert isinstance(getattr(backends, name), service), name
    assert backends.system.volumes is backends.volumes
    assert backends.images is not None and backends.build is not None
    assert backends.distribution is engine.distribution
