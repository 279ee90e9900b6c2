"""``GET /baleine/balancers`` (a Baleine extension): the balanced groups, for the
dashboard and tests. Decodes nothing, calls the networks backend, encodes.

Each item: ``Name``, ``VirtualIPs`` (``Network``, ``NetworkID``, ``Address``),
``Ports`` (``Port``, ``Protocol``, ``HostIp``, ``HostPort``; 0 when not
published), ``Restart`` (the restart label, normalised), ``Members`` (``Id``,
``Name``, ``State``, ``Health``, ``Address``, ``Ready``), ``Ready`` (how many
members are ready) and ``Error`` (why the group is not served, e.g. a host port
taken; empty otherwise); an autoscaled group also ``Autoscale`` (``Min``, ``Max``,
``TargetCPU``, ``CurrentCPU`` (None before a measure), ``Desired``, ``LastScale``,
``Error``; see ``engine/networks/autoscaler``).
"""

from __future__ import annotations

from aiohttp import web

from .requests import Router, backends_of
from .responses import json_response


async def list_(request: web.Request) -> web.Response:
    return json_response(await backends_of(request).networks.balancers())


def register(router: Router) -> None:
    router.get("/baleine/balancers", list_)
