"""The sandbox's image, ``baleine/pause:3.10``, made in-process: no registry needed.

The image holds one file, ``/pause``: a static x86_64 ELF of 129 bytes that loops on
pause(2). As PID 1 of its namespace it has no handler for SIGTERM, so the kernel
ignores that signal and a stop ends with SIGKILL (the agent stops sandboxes with a
zero timeout). The tar is built in memory and imported through the images backend.
"""

from __future__ import annotations

import io
import struct
import tarfile
from typing import TYPE_CHECKING

from ...rules.errors import NotFound

if TYPE_CHECKING:
    from ...engine.interface.images import ImagesBackend

IMAGE = "baleine/pause:3.10"
_BASE = 0x400000
_HEADERS = 64 + 56
# mov eax, 34 (pause); syscall; jmp back to the mov.
_CODE = bytes.fromhex("b822000000" "0f05" "ebf7")


def elf() -> bytes:
    """The whole executable: ELF header, one PT_LOAD segment (R+X) mapping the file, the code."""
    size = _HEADERS + len(_CODE)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # 64-bit, little endian, SysV
    header = ident + struct.pack("<HHIQQQIHHHHHH", 2, 0x3E, 1, _BASE + _HEADERS, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    segment = struct.pack("<IIQQQQQQ", 1, 5, 0, _BASE, _BASE, size, size, 0x1000)
    return header + segment + _CODE


def rootfs_tar() -> bytes:
    """A tar of the image's one file, ``/pause`` (mode 0755, root)."""
    data = elf()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("pause")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


async def ensure(images: ImagesBackend) -> None:
    """Import ``baleine/pause:3.10`` unless the store has it already."""
    try:
        await images.inspect(IMAGE)
        return
    except NotFound:
        pass
    repo, tag = IMAGE.split(":")
    await images.import_(io.BytesIO(rootfs_tar()), repo, tag, "the pod sandbox of Baleine's node agent",
                         ['ENTRYPOINT ["/pause"]'])
