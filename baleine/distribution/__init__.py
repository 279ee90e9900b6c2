"""Image distribution: moving images to and from registries, and serving one.

Client side (used by the daemon through :class:`~baleine.distribution.service.Distribution`):

* ``manifest``     — manifests, indexes and platform selection (pure)
* ``auth``         — auth configs, ``X-Registry-Auth``, ``WWW-Authenticate`` challenges (pure)
* ``credentials``  — docker ``config.json`` credentials and credential helpers (stdlib only,
  the CLI uses it)
* ``client``       — the registry HTTP API v2 / OCI Distribution client (aiohttp): endpoints,
  token and Basic auth, manifests, verified and resumable blob downloads, uploads
* ``puller`` / ``pusher`` — pull and push wired into the engine's stores
* ``progress``     — Docker's JSON progress messages (pure)
* ``service``      — the daemon-facing facade (pull, push, login, inspect)

Server side: ``baleine.distribution.server`` (``baleine registry serve`` and ``gc``).
"""
