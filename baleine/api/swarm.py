"""Swarm-mode endpoints on a daemon that is not in a swarm: /swarm, /nodes,
/services, /tasks, /secrets, /configs.

Baleine has no swarm mode; it answers every swarm endpoint as dockerd does when the
node is not part of a swarm: 503 with dockerd's message. Clients rely on that exact
status (docker-py's ``leave_swarm(force=True)`` treats a 503 as "nothing to leave";
the docker CLI prints the message and exits 1).
"""

from __future__ import annotations

from aiohttp import web

from .requests import Router
from .responses import error_response

NOT_MANAGER = ('This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" '
               "to connect this node to swarm and try again.")
NOT_IN_SWARM = "This node is not part of a swarm"

# (method, path) of every swarm-mode route of the Engine API 1.47.
_ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", "/swarm"), ("POST", "/swarm/init"), ("POST", "/swarm/join"), ("POST", "/swarm/update"),
    ("GET", "/swarm/unlockkey"), ("POST", "/swarm/unlock"),
    ("GET", "/nodes"), ("GET", "/nodes/{id}"), ("DELETE", "/nodes/{id}"), ("POST", "/nodes/{id}/update"),
    ("GET", "/services"), ("POST", "/services/create"), ("GET", "/services/{id}"),
    ("DELETE", "/services/{id}"), ("POST", "/services/{id}/update"), ("GET", "/services/{id}/logs"),
    ("GET", "/tasks"), ("GET", "/tasks/{id}"), ("GET", "/tasks/{id}/logs"),
    ("GET", "/secrets"), ("POST", "/secrets/create"), ("GET", "/secrets/{id}"),
    ("DELETE", "/secrets/{id}"), ("POST", "/secrets/{id}/update"),
    ("GET", "/configs"), ("POST", "/configs/create"), ("GET", "/configs/{id}"),
    ("DELETE", "/configs/{id}"), ("POST", "/configs/{id}/update"),
)


async def not_a_manager(request: web.Request) -> web.Response:
    """503: this node is not a swarm manager (dockerd's ``errNoSwarm``/``errNotManager``)."""
    return error_response(503, NOT_MANAGER)


async def leave(request: web.Request) -> web.Response:
    """503: nothing to leave (dockerd's ``errNoSwarm`` on ``/swarm/leave``)."""
    return error_response(503, NOT_IN_SWARM)


def register(router: Router) -> None:
    for method, path in _ROUTES:
        router.add(method, path, not_a_manager)
    router.post("/swarm/leave", leave)
