"""Baleine's registry server (``baleine registry serve`` / ``gc``): the OCI
Distribution Specification v1.1 over a deduplicated filesystem store.

* ``storage`` — blobs, repository links, manifests, tags, referrers, uploads (blocking I/O)
* ``access``  — htpasswd (bcrypt) users, per-repository rules, the Bearer token service
* ``app``     — the aiohttp request handlers
* ``gc``      — mark-and-sweep of unreferenced blobs
* ``serve``   — running a server (address, TLS, lock on the root)
"""
