"""Kubernetes manifests from compose projects and containers (``baleine kube generate``).

Pure: ``translate.project_objects`` turns a loaded compose ``Project`` into Kubernetes
objects, ``containers.service_of`` turns a container's inspect into a compose-shaped
service for the same translation, ``check.check_all`` validates the result against the
Kubernetes JSON schemas and the API server's semantic rules. Nothing here talks to a
daemon: the CLI (baleine/cli/kube.py) fetches inspects and pushes images.
"""
