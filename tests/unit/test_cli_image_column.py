"""The IMAGE column of ``ps`` and ``system df -v`` as docker/cli's ContainerContext.Image."""

from __future__ import annotations

from baleine.cli.containers import _image_column

ID = "sha256:380b4cb9360b765e021605b33eb6b335af6005eeda1a75c2122cb23ef69ac3b6"


def test_image_column() -> None:
    assert _image_column(ID, ID, True) == "380b4cb9360b"  # named by its ID: the short ID
    assert _image_column(ID, ID, False) == ID
    assert _image_column("busybox", ID, True) == "busybox"
    assert _image_column("busybox@sha256:" + "a" * 64, ID, True) == "busybox"
    assert _image_column("", ID, True) == "<no image>"
