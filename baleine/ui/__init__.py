"""Baleine's web dashboard, served by the daemon beside the Engine API (``--ui-addr``).

The dashboard is a client of the Engine API in-process: ``server.make_ui_app`` mounts
the daemon's own API application under ``/engine/`` behind the dashboard's
authentication (``auth``), so the browser speaks the documented Engine API. The one
thing a browser cannot do over fetch, the hijacked exec stream, is bridged to a
WebSocket by ``terminal``. The front end is built from ``ui/`` at the repository's
top into ``static/`` and shipped as package data.
"""
