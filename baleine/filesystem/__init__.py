"""Files and trees on a local filesystem, without daemon state: the safe resolver of a
path inside a root (``rootpath``) and the tar codec that reads and writes layer and
copy archives onto and from directories (``layers``).

The engine uses both (layers, cp, export, builds); the CLI's ``cp`` uses the tar codec
for the local side, as docker's CLI shares moby's ``pkg/archive``.
"""
