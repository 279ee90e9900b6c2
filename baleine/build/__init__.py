"""Dockerfile builds: the parser (``parser``, ``instructions``), Docker's shell-word
expansion (``shell``), ``.dockerignore`` matching (``dockerignore``) — all pure —
and the builder with its persistent cache (``builder``, ``cache``, ``context``,
``fsops``, ``executor``, ``metadata``). The engine wires ``builder.Builder`` as
``engine.builder``; ``api/build.py`` and ``cli/build.py`` are its surfaces."""
