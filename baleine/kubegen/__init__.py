"""Kubernetes manifests from compose projects, containers and pods (``baleine kube generate``).

Pure: ``translate.project_objects`` turns a loaded compose ``Project`` into Kubernetes
objects, ``containers.service_of`` turns a container's inspect into a compose-shaped
service for the same translation, ``pods`` groups a Kubernetes pod's containers for
``translate.pod_objects`` (one Deployment for the whole pod), ``check.check_all``
validates the result against the Kubernetes JSON schemas and the API server's semantic
rules. Nothing here talks to a
daemon: the CLI (baleine/cli/kube.py) fetches inspects and pushes images.
"""
