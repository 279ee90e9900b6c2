"""Layer tars: unpack them into overlay layer directories, compute them from upper dirs.

An image is a stack of OCI layer tars (changesets). Baleine unpacks each layer
once into its own directory, in the form overlayfs reads as a lower (or upper)
layer: an OCI whiteout ``.wh.NAME`` becomes a 0/0 character device ``NAME`` and an
opaque whiteout ``.wh..wh..opq`` becomes the ``trusted.overlay.opaque=y`` xattr on
its directory. A container's writable upper directory is turned back into a layer
tar the opposite way (``docker commit``), and compared with the image layers for
``docker diff``.

Safety: tars come from registries and users. Extraction never writes outside the
destination: names containing ``..`` are rejected, absolute names are made
relative, every parent directory is opened with ``O_NOFOLLOW`` relative to its
own parent's descriptor, so a symlink planted by the archive or one that existed
before is never followed (:func:`apply_layer` rejects such paths;
:func:`untar_into`, for ``docker cp``, resolves them inside the destination as
the container would), the last component is never followed, and hard links can
only point at entries already inside the destination. Walking a directory to
write a tar likewise uses descriptors with ``O_NOFOLLOW``, so a running container
swapping a directory for a symlink cannot make Baleine read host files.

Speed: layers are read by a small tar parser of our own, with a helper thread
reading (decompressing) and hashing ahead, and written with descriptor-relative
syscalls. Measured on the six distinct layers of the shared bookworm images
(314 MB, 11k entries, 2 cores), fresh ext4: this 0.66 s, ``tarfile`` in stream
mode with the same per-member work 1.46 s, GNU tar fed through a pipe by a
hashing thread plus a whiteout pass 0.94 s; from gzip blobs 1.40 / 2.36 / 2.11 s.

Everything here is blocking and CPU/IO heavy: callers on the event loop run it in
a thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import base64
import collections
import errno
import hashlib
import logging
import os
import queue
import shutil
import stat
import threading
import urllib.parse
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from baleine.filesystem import rootpath
from baleine.rules.errors import EngineError, InvalidParameter, NotFound

log = logging.getLogger(__name__)

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
OVERLAY_XATTR_PREFIX = "trusted.overlay."
# Upper dirs using these overlay features keep data or names in the lower layers;
# a tar of the upper dir alone would be wrong, so diff_tar refuses them.
_UNSUPPORTED_OVERLAY_XATTRS = ("trusted.overlay.redirect", "trusted.overlay.metacopy")

#: Kinds of :class:`Change`, numbered like Docker's API (``docker diff`` prints C, A, D).
CHANGE_MODIFY = 0
CHANGE_ADD = 1
CHANGE_DELETE = 2

_BLOCK = 512
_ZERO_BLOCK = bytes(_BLOCK)
_READ_SIZE = 1 << 20
# PAX headers and GNU long names are read into memory; no sane one is this big.
_MAX_META = 16 << 20
_DIR_CACHE_SIZE = 128

_O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_O_NEWFILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_O_READFILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK
_O_PATH = getattr(os, "O_PATH", 0o10000000) | os.O_NOFOLLOW | os.O_CLOEXEC

# Tar type flags (as byte values).
_REG, _AREG, _CONTIG = ord("0"), 0, ord("7")
_LNK, _SYM, _CHR, _BLK, _DIR, _FIFO = (ord(c) for c in "123456")
_PAX, _PAX_GLOBAL, _GNU_LONGNAME, _GNU_LONGLINK = ord("x"), ord("g"), ord("L"), ord("K")
_GNU_SPARSE, _GNU_VOLHDR, _GNU_DUMPDIR = ord("S"), ord("V"), ord("D")
# Types whose size field does not announce data (as Go's archive/tar reads them).
_HEADER_ONLY = frozenset((_LNK, _SYM, _CHR, _BLK, _DIR, _FIFO))

# xattr errors that mean "this filesystem or security module does not take it";
# like moby, such xattrs are dropped rather than failing the whole layer.
_XATTR_IGNORED_ERRNOS = frozenset((errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM, errno.EINVAL))


@dataclass(frozen=True)
class ApplyResult:
    """Outcome of unpacking a layer tar.

    ``diff_id`` is ``"sha256:<hex>"`` of the uncompressed tar stream exactly as
    read (including the end-of-archive blocks and any trailing bytes); ``size``
    is the number of bytes of regular-file content written (what Docker reports
    as a layer's size).
    """

    diff_id: str
    size: int


@dataclass(frozen=True, order=True)
class Change:
    """One line of ``docker diff``: ``path`` (absolute, in the container) and
    ``kind``: :data:`CHANGE_MODIFY` (0, "C"), :data:`CHANGE_ADD` (1, "A") or
    :data:`CHANGE_DELETE` (2, "D")."""

    path: str
    kind: int


class _Truncated(Exception):
    """The tar stream ended in the middle of a header or an entry's data."""


# ---------------------------------------------------------------------------
# Reading tar streams
# ---------------------------------------------------------------------------


class _Source:
    """Reader over the layer stream that hashes every byte it reads.

    A helper thread reads the stream in large chunks and hashes them while the
    caller extracts: reading may mean decompressing, and both zlib and sha256
    release the GIL, so on two cores decompression, hashing and extraction
    overlap. File content goes from those chunks to ``os.write`` through
    memoryviews, without further copies. ``offset`` counts bytes consumed.
    Call :meth:`close` when done (it stops the helper thread).
    """

    _QUEUE_DEPTH = 4

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._hash = hashlib.sha256()
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(self._QUEUE_DEPTH)
        self._stop = threading.Event()
        self._view = memoryview(b"")
        self._pos = 0
        self._end = 0
        self._eof = False
        self.offset = 0
        self._thread = threading.Thread(target=self._produce, name="layer-reader", daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        try:
            while not self._stop.is_set():
                chunk = self._stream.read(_READ_SIZE)
                if chunk is None:
                    raise EngineError("layer stream is non-blocking and had no data")
                if chunk:
                    self._hash.update(chunk)
                self._put(chunk)
                if not chunk:
                    return
        except BaseException as err:  # handed to the consumer, which raises it
            self._put(err)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        """Stop the helper thread (it may be blocked reading: it then exits at
        its next chunk, discarding it)."""
        self._stop.set()
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass
        # A helper blocked in a read (a stalled network stream) is not waited
        # for long: it is a daemon thread and exits after that read.
        self._thread.join(timeout=1)

    def _fill(self) -> int:
        if self._eof:
            return 0
        item = self._queue.get()
        if isinstance(item, BaseException):
            self._eof = True
            raise item
        if not item:
            self._eof = True
        self._view = memoryview(item)
        self._pos = 0
        self._end = len(item)
        return self._end

    def read(self, n: int) -> bytes:
        """Return exactly ``n`` bytes, or fewer only at the end of the stream."""
        pos = self._pos
        if self._end - pos >= n:
            self._pos = pos + n
            self.offset += n
            return bytes(self._view[pos : pos + n])
        parts = []
        want = n
        while want:
            if self._pos == self._end and not self._fill():
                break
            k = min(want, self._end - self._pos)
            parts.append(bytes(self._view[self._pos : self._pos + k]))
            self._pos += k
            want -= k
        self.offset += n - want
        return b"".join(parts)

    def copy_to(self, fd: int, n: int) -> None:
        """Write the next ``n`` bytes to ``fd``; raise :class:`_Truncated` if they are missing."""
        write = os.write
        while n:
            if self._pos == self._end and not self._fill():
                raise _Truncated
            k = min(n, self._end - self._pos)
            mv = self._view[self._pos : self._pos + k]
            while mv:
                mv = mv[write(fd, mv) :]
            self._pos += k
            self.offset += k
            n -= k

    def skip(self, n: int) -> None:
        """Discard the next ``n`` bytes; raise :class:`_Truncated` if they are missing."""
        while n:
            if self._pos == self._end and not self._fill():
                raise _Truncated
            k = min(n, self._end - self._pos)
            self._pos += k
            self.offset += k
            n -= k

    def drain(self) -> None:
        """Consume the rest of the stream (so the digest covers all of it)."""
        self.offset += self._end - self._pos
        self._pos = self._end
        while self._fill():
            self.offset += self._end
            self._pos = self._end

    def digest(self) -> str:
        """Digest of the whole stream; valid once :meth:`drain` returned."""
        self._thread.join()
        return "sha256:" + self._hash.hexdigest()


class _Entry:
    """One member of a tar, with PAX and GNU extensions already applied."""

    __slots__ = ("name", "type", "mode", "uid", "gid", "size", "mtime", "atime", "linkname", "major", "minor", "xattrs")

    name: str
    type: int
    mode: int
    uid: int
    gid: int
    size: int
    mtime: int  # ns
    atime: int  # ns
    linkname: str
    major: int
    minor: int
    xattrs: dict[str, bytes] | None


def _cstr(field: bytes) -> bytes:
    i = field.find(b"\0")
    return field if i < 0 else field[:i]


def _num(field: bytes) -> int:
    """Decode a numeric header field: octal text, or GNU base-256 binary."""
    if field and field[0] & 0x80:
        value = int.from_bytes(field[1:], "big")
        if field[0] == 0xFF:  # negative, two's complement
            value -= 1 << (8 * (len(field) - 1))
        else:
            value += (field[0] & 0x3F) << (8 * (len(field) - 1))
        return value
    text = _cstr(field).strip(b" ")
    return int(text, 8) if text else 0


def _pax_time_ns(text: bytes) -> int:
    sec, _, frac = text.partition(b".")
    negative = sec.startswith(b"-")
    ns = abs(int(sec)) * 1_000_000_000 + (int((frac + b"000000000")[:9]) if frac else 0)
    return -ns if negative else ns


def _parse_pax(data: bytes) -> dict[bytes, bytes]:
    """Parse PAX extended header records (``"<len> <key>=<value>\\n"``)."""
    records: dict[bytes, bytes] = {}
    pos = 0
    end = len(data)
    while pos < end:
        if data[pos] == 0:  # some writers pad with NULs
            break
        sp = data.find(b" ", pos, pos + 24)
        if sp < 0:
            raise InvalidParameter("invalid layer tar: malformed PAX header")
        length = int(data[pos:sp])
        record = data[sp + 1 : pos + length]
        if length <= 0 or pos + length > end or not record.endswith(b"\n") or b"=" not in record:
            raise InvalidParameter("invalid layer tar: malformed PAX header")
        key, _, value = record[:-1].partition(b"=")
        records[key] = value
        pos += length
    return records


def _read_entries(src: _Source) -> Iterator[_Entry]:
    """Yield the members of the tar read from ``src``.

    The consumer may consume any prefix of a yielded entry's data through
    ``src``; the rest is skipped when the next entry is requested. Stops at the
    end-of-archive block, or at a clean end of stream at a header boundary (as
    Go's reader does). Raises :class:`InvalidParameter` on a corrupt header and
    :class:`_Truncated` on a stream that ends early.
    """
    pax: dict[bytes, bytes] | None = None
    long_name: bytes | None = None
    long_link: bytes | None = None
    fsdecode = os.fsdecode
    while True:
        blk = src.read(_BLOCK)
        if len(blk) < _BLOCK:
            if not blk and pax is None and long_name is None and long_link is None:
                return
            raise _Truncated
        if blk == _ZERO_BLOCK:
            return
        try:
            chksum = int(_cstr(blk[148:156]).strip(b" ") or b"-1", 8)
        except ValueError:
            chksum = -1
        unsigned = sum(blk) - sum(blk[148:156]) + 256
        if chksum != unsigned:
            # Some old writers summed the bytes as signed chars.
            high = sum(1 for b in blk[:148] if b > 127) + sum(1 for b in blk[156:] if b > 127)
            if chksum != unsigned - 256 * high:
                raise InvalidParameter(f"invalid layer tar: bad header checksum at offset {src.offset - _BLOCK}")
        try:
            typeflag = blk[156]
            size = _num(blk[124:136])
            if size < 0:
                raise ValueError("negative size")
            if typeflag in (_PAX, _PAX_GLOBAL, _GNU_LONGNAME, _GNU_LONGLINK):
                if size > _MAX_META:
                    raise InvalidParameter("invalid layer tar: extended header too large")
                data = src.read(size)
                if len(data) < size:
                    raise _Truncated
                src.skip(-size % _BLOCK)
                if typeflag == _PAX:
                    pax = {**(pax or {}), **_parse_pax(data)}
                elif typeflag == _GNU_LONGNAME:
                    long_name = _cstr(data)
                elif typeflag == _GNU_LONGLINK:
                    long_link = _cstr(data)
                # Global PAX headers are ignored, as moby and Go's reader do.
                continue
            if typeflag == _GNU_SPARSE:
                raise InvalidParameter("invalid layer tar: GNU sparse files are not supported")
            magic = blk[257:263]
            name = long_name if long_name is not None else _cstr(blk[0:100])
            if long_name is None and magic == b"ustar\x00":
                prefix = _cstr(blk[345:500])
                if prefix:
                    name = prefix + b"/" + name
            e = _Entry()
            e.type = typeflag
            e.mode = _num(blk[100:108])
            e.uid = _num(blk[108:116])
            e.gid = _num(blk[116:124])
            e.mtime = e.atime = _num(blk[136:148]) * 1_000_000_000
            link = long_link if long_link is not None else _cstr(blk[157:257])
            if typeflag in (_CHR, _BLK):
                e.major = _num(blk[329:337])
                e.minor = _num(blk[337:345])
            else:
                e.major = e.minor = 0
            e.xattrs = None
            if pax:
                name, link, size = _apply_pax(e, pax, name, link, size)
            if size < 0 or e.uid < 0 or e.gid < 0:
                raise ValueError("negative size or id")
        except ValueError as err:
            raise InvalidParameter(f"invalid layer tar: bad header at offset {src.offset - _BLOCK}: {err}") from None
        pax = long_name = long_link = None
        if typeflag == _AREG and name.endswith(b"/"):
            typeflag = e.type = _DIR  # pre-POSIX directory
        e.name = fsdecode(name)
        e.linkname = fsdecode(link)
        data_size = 0 if typeflag in _HEADER_ONLY else size
        e.size = data_size
        end = src.offset + data_size + (-data_size % _BLOCK)
        yield e
        src.skip(end - src.offset)


def _apply_pax(e: _Entry, pax: dict[bytes, bytes], name: bytes, link: bytes, size: int) -> tuple[bytes, bytes, int]:
    for key, value in pax.items():
        if key == b"path":
            name = value
        elif key == b"linkpath":
            link = value
        elif key == b"size":
            size = int(value)
        elif key == b"uid":
            e.uid = int(value)
        elif key == b"gid":
            e.gid = int(value)
        elif key == b"mtime":
            e.mtime = _pax_time_ns(value)
        elif key == b"atime":
            e.atime = _pax_time_ns(value)
        elif key.startswith(b"SCHILY.xattr."):
            if e.xattrs is None:
                e.xattrs = {}
            e.xattrs[os.fsdecode(key[13:])] = value
        elif key.startswith(b"LIBARCHIVE.xattr."):
            if e.xattrs is None:
                e.xattrs = {}
            e.xattrs[urllib.parse.unquote(key[17:].decode("ascii", "replace"))] = base64.b64decode(value + b"==")
        elif key.startswith(b"GNU.sparse."):
            raise InvalidParameter("invalid layer tar: GNU sparse files are not supported")
    if b"atime" not in pax and b"mtime" in pax:
        e.atime = e.mtime
    return name, link, size


# ---------------------------------------------------------------------------
# Extracting
# ---------------------------------------------------------------------------


def _split(name: str, what: str = "entry") -> list[str]:
    """Split a tar name into components relative to the root.

    Leading ``/`` and ``.`` components are dropped (absolute names are made
    relative); a ``..`` component is rejected with :class:`InvalidParameter`.
    """
    parts = [p for p in name.split("/") if p and p != "."]
    if ".." in parts:
        raise InvalidParameter(f"invalid layer tar: {what} {name!r} escapes the destination ('..')")
    return parts


def _proc_path(fd: int, name: str = "") -> str:
    # /proc/self/fd/N is the directory fd N itself; the name after it is looked up
    # relative to it and, with follow_symlinks=False, never followed. This gives
    # "*at" variants of the xattr/chmod calls Python lacks.
    return f"/proc/self/fd/{fd}/{name}" if name else f"/proc/self/fd/{fd}"


def _set_xattrs(target: int | str, xattrs: dict[str, bytes], where: str, follow: bool = True) -> None:
    for key, value in xattrs.items():
        if key.startswith(OVERLAY_XATTR_PREFIX):
            continue  # overlay metadata from an archive could redirect lookups; only our own whiteout handling sets it
        try:
            os.setxattr(target, key, value, follow_symlinks=follow)
        except OSError as err:
            if err.errno not in _XATTR_IGNORED_ERRNOS:
                raise
            log.debug("xattr %s on %s dropped: %s", key, where, err.strerror)


def _open_in_root(rootfd: int, parts: list[str], *, create: bool, what: str) -> int | None:
    """Open the directory ``parts`` inside ``rootfd``, resolving symlinks as if
    ``rootfd`` were ``/`` (:func:`rootpath.open_in_root`: absolute targets and
    ``..`` never leave the root).

    Missing directories are created (mode 0755) when ``create``, else ``None``
    is returned. Returns a new descriptor the caller owns. Raises
    :class:`InvalidParameter` if a component is not a directory or the
    symlinks loop.
    """
    try:
        return rootpath.open_in_root(rootfd, "/".join(parts), create=create)
    except NotADirectoryError as err:
        raise InvalidParameter(f"cannot resolve {what!r}: {err.filename!r} is not a directory") from None
    except rootpath.TooManyLinks:
        raise InvalidParameter(f"cannot resolve {what!r}: too many levels of symbolic links") from None


class _Extractor:
    """Creates tar entries under a root directory descriptor.

    ``follow=False`` (layers): a parent component that is not a real directory
    is an error. ``follow=True`` (``docker cp``): symlinks in parent components
    are followed but resolved inside the root. ``whiteouts`` converts OCI
    whiteouts to overlay form. ``owner`` forces every entry's uid/gid.
    """

    def __init__(
        self,
        rootfd: int,
        *,
        whiteouts: bool,
        follow: bool,
        owner: tuple[int, int] | None = None,
        no_overwrite_dir_non_dir: bool = False,
    ) -> None:
        self.root = rootfd
        self.whiteouts = whiteouts
        self.follow = follow
        self.owner = owner
        self.no_overwrite = no_overwrite_dir_non_dir
        self.size = 0
        # Open descriptors of recently used directories, by path relative to the
        # root ("a/b"). Entries of one directory arrive together, so a small LRU
        # makes almost every parent lookup free of syscalls.
        self._dirs: collections.OrderedDict[str, int] = collections.OrderedDict()
        self._dir_times: list[tuple[str, int, int]] = []

    # -- directory descriptors ----------------------------------------------------

    def close(self) -> None:
        for fd in self._dirs.values():
            os.close(fd)
        self._dirs.clear()

    def _remember(self, rel: str, fd: int) -> None:
        old = self._dirs.pop(rel, None)
        if old is not None and old != fd:
            os.close(old)
        self._dirs[rel] = fd
        if len(self._dirs) > _DIR_CACHE_SIZE:
            os.close(self._dirs.popitem(last=False)[1])

    def _forget_all(self) -> None:
        # Something was removed or replaced: cached descriptors may now name
        # directories that are no longer reachable by their path.
        self.close()

    def _dirfd(self, rel: str, what: str, create: bool = True) -> int | None:
        """Descriptor of directory ``rel`` (owned by the cache; valid until the
        next lookup evicts it), creating missing directories when ``create``."""
        if not rel:
            return self.root
        dirs = self._dirs
        fd = dirs.get(rel)
        if fd is not None:
            dirs.move_to_end(rel)
            return fd
        if self.follow:
            fd = _open_in_root(self.root, rel.split("/"), create=create, what=what)
            if fd is not None:
                self._remember(rel, fd)
            return fd
        # Start from the nearest cached ancestor and open downwards, never
        # following symlinks.
        cut = len(rel)
        base = self.root
        while True:
            cut = rel.rfind("/", 0, cut)
            if cut < 0:
                cut = 0
                break
            fd = dirs.get(rel[:cut])
            if fd is not None:
                base = fd
                cut += 1
                break
        fd = base
        while True:
            slash = rel.find("/", cut)
            comp = rel[cut:] if slash < 0 else rel[cut:slash]
            try:
                fd = os.open(comp, _O_DIR, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    return None
                try:
                    os.mkdir(comp, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
                fd = os.open(comp, _O_DIR, dir_fd=fd)
            except OSError as err:
                if err.errno in (errno.ELOOP, errno.ENOTDIR):
                    path = rel if slash < 0 else rel[:slash]
                    raise InvalidParameter(
                        f"invalid layer tar: {what} is below {path!r}, which is not a directory (symlinks are not followed)"
                    ) from None
                raise
            self._remember(rel if slash < 0 else rel[:slash], fd)
            if slash < 0:
                return fd
            cut = slash + 1

    # -- replacing what is in the way ------------------------------------------------

    def _clear(self, pfd: int, name: str, rel: str, new_is_dir: bool) -> None:
        """Remove the existing entry ``name`` so a new one can take its place."""
        st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
        is_dir = stat.S_ISDIR(st.st_mode)
        if self.no_overwrite and is_dir != new_is_dir:
            if is_dir:
                # moby's words as its chrooted untar says them: the entry, then the destination.
                raise InvalidParameter(f'cannot overwrite directory "/{rel}" with non-directory "/"')
            raise InvalidParameter(f'cannot overwrite non-directory "/{rel}" with directory "/"')
        if is_dir:
            shutil.rmtree(name, dir_fd=pfd)
        else:
            os.unlink(name, dir_fd=pfd)
        self._forget_all()

    # -- entries -------------------------------------------------------------------------

    def extract(self, e: _Entry, src: _Source) -> None:
        """Create entry ``e``, reading its data from ``src``."""
        parts = _split(e.name)
        if self.whiteouts and WHITEOUT_PREFIX in e.name:
            if any(p.startswith(WHITEOUT_META_PREFIX) and p != WHITEOUT_OPAQUE for p in parts):
                return  # AUFS metadata (.wh..wh.plnk, ...): not part of the image
            base = parts[-1] if parts else ""
            if base == WHITEOUT_OPAQUE:
                fd = self._dirfd("/".join(parts[:-1]), e.name)
                assert fd is not None
                os.setxattr(fd, OPAQUE_XATTR, b"y")
                return
            if base.startswith(WHITEOUT_PREFIX):
                self._whiteout(e, parts)
                return
        if not parts:
            if e.type == _DIR:  # "./": the root itself
                self._dir_metadata(self.root, e, "")
            return
        rel = "/".join(parts)
        name = parts[-1]
        parent = rel[: len(rel) - len(name) - 1] if len(parts) > 1 else ""
        t = e.type
        if t in (_REG, _AREG, _CONTIG):
            pfd = self._dirfd(parent, e.name)
            assert pfd is not None
            try:
                fd = os.open(name, _O_NEWFILE, 0o600, dir_fd=pfd)
            except FileExistsError:
                self._clear(pfd, name, rel, False)
                pfd = self._dirfd(parent, e.name)
                fd = os.open(name, _O_NEWFILE, 0o600, dir_fd=pfd)
            try:
                if e.size:
                    src.copy_to(fd, e.size)
                    self.size += e.size
                if self.owner is None:
                    os.fchown(fd, e.uid, e.gid)
                else:
                    os.fchown(fd, *self.owner)
                os.fchmod(fd, e.mode & 0o7777)  # after chown, which clears set-id bits
                if e.xattrs:
                    _set_xattrs(fd, e.xattrs, rel)
                os.utime(fd, ns=(e.atime, e.mtime))
            finally:
                os.close(fd)
        elif t == _DIR or t == _GNU_DUMPDIR:
            pfd = self._dirfd(parent, e.name)
            assert pfd is not None
            fd = self._dirs.get(rel)
            if fd is None:
                try:
                    os.mkdir(name, 0o700, dir_fd=pfd)
                except FileExistsError:
                    st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
                    if not stat.S_ISDIR(st.st_mode):
                        self._clear(pfd, name, rel, True)
                        pfd = self._dirfd(parent, e.name)
                        os.mkdir(name, 0o700, dir_fd=pfd)
                fd = os.open(name, _O_DIR, dir_fd=pfd)
                self._remember(rel, fd)
            self._dir_metadata(fd, e, rel)
        elif t == _SYM:
            pfd = self._dirfd(parent, e.name)
            assert pfd is not None
            try:
                os.symlink(e.linkname, name, dir_fd=pfd)
            except FileExistsError:
                self._clear(pfd, name, rel, False)
                pfd = self._dirfd(parent, e.name)
                os.symlink(e.linkname, name, dir_fd=pfd)
            uid, gid = self.owner or (e.uid, e.gid)
            os.chown(name, uid, gid, dir_fd=pfd, follow_symlinks=False)
            if e.xattrs:
                _set_xattrs(_proc_path(pfd, name), e.xattrs, rel, follow=False)
            os.utime(name, ns=(e.atime, e.mtime), dir_fd=pfd, follow_symlinks=False)
        elif t == _LNK:
            self._hardlink(e, parts, rel, parent, name)
        elif t in (_CHR, _BLK, _FIFO):
            pfd = self._dirfd(parent, e.name)
            assert pfd is not None
            kind = stat.S_IFCHR if t == _CHR else stat.S_IFBLK if t == _BLK else stat.S_IFIFO
            dev = os.makedev(e.major, e.minor) if t != _FIFO else 0
            try:
                os.mknod(name, kind | 0o600, dev, dir_fd=pfd)
            except FileExistsError:
                self._clear(pfd, name, rel, False)
                pfd = self._dirfd(parent, e.name)
                os.mknod(name, kind | 0o600, dev, dir_fd=pfd)
            self._special_metadata(pfd, name, e, rel)
        elif t == _GNU_VOLHDR:
            return
        else:
            raise InvalidParameter(f"invalid layer tar: unsupported entry type {chr(t)!r} for {e.name!r}")

    def _dir_metadata(self, fd: int, e: _Entry, rel: str) -> None:
        if self.owner is None:
            os.fchown(fd, e.uid, e.gid)
        else:
            os.fchown(fd, *self.owner)
        os.fchmod(fd, e.mode & 0o7777)
        if e.xattrs:
            _set_xattrs(fd, e.xattrs, rel or "/")
        # Creating the directory's contents changes its mtime: set it at the end.
        self._dir_times.append((rel, e.atime, e.mtime))

    def _special_metadata(self, pfd: int, name: str, e: _Entry, rel: str) -> None:
        # Devices and fifos cannot be opened safely (a fifo blocks, a device has
        # side effects): take an O_PATH descriptor and act on /proc/self/fd/N,
        # which is that inode and cannot be swapped for a symlink meanwhile.
        fd = os.open(name, _O_PATH, dir_fd=pfd)
        try:
            p = _proc_path(fd)
            uid, gid = self.owner or (e.uid, e.gid)
            os.chown(p, uid, gid)
            os.chmod(p, e.mode & 0o7777)
            if e.xattrs:
                _set_xattrs(p, e.xattrs, rel)
            os.utime(p, ns=(e.atime, e.mtime))
        finally:
            os.close(fd)

    def _whiteout(self, e: _Entry, parts: list[str]) -> None:
        victim = parts[-1][len(WHITEOUT_PREFIX) :]
        if victim in ("", ".", ".."):
            raise InvalidParameter(f"invalid layer tar: bad whiteout {e.name!r}")
        parent = "/".join(parts[:-1])
        pfd = self._dirfd(parent, e.name)
        assert pfd is not None
        try:
            os.mknod(victim, stat.S_IFCHR, 0, dir_fd=pfd)
        except FileExistsError:
            # OCI: a whiteout only hides lower layers; an entry of this same
            # layer with that name stays.
            return
        uid, gid = self.owner or (e.uid, e.gid)
        os.chown(victim, uid, gid, dir_fd=pfd, follow_symlinks=False)
        os.utime(victim, ns=(e.atime, e.mtime), dir_fd=pfd, follow_symlinks=False)

    def _hardlink(self, e: _Entry, parts: list[str], rel: str, parent: str, name: str) -> None:
        tparts = _split(e.linkname, "hard link target")
        if not tparts:
            raise InvalidParameter(f"invalid layer tar: hard link {e.name!r} has no target")
        trel = "/".join(tparts)
        if trel == rel:
            return
        tfd = self._dirfd("/".join(tparts[:-1]), e.name, create=False)
        if tfd is None:
            raise InvalidParameter(f"invalid layer tar: hard link {e.name!r} to missing {e.linkname!r}")
        tfd = os.dup(tfd)  # the next lookup may evict it from the cache
        try:
            pfd = self._dirfd(parent, e.name)
            assert pfd is not None
            for attempt in (0, 1):
                try:
                    os.link(tparts[-1], name, src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)
                    return
                except FileExistsError:
                    if attempt:
                        raise
                    a = os.stat(tparts[-1], dir_fd=tfd, follow_symlinks=False)
                    b = os.stat(name, dir_fd=pfd, follow_symlinks=False)
                    if (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino):
                        return
                    self._clear(pfd, name, rel, False)
                    pfd = self._dirfd(parent, e.name)
                    assert pfd is not None
                except FileNotFoundError:
                    raise InvalidParameter(
                        f"invalid layer tar: hard link {e.name!r} to missing {e.linkname!r}"
                    ) from None
                except PermissionError:  # a directory
                    raise InvalidParameter(
                        f"invalid layer tar: hard link {e.name!r} to {e.linkname!r}, which is not a file"
                    ) from None
        finally:
            os.close(tfd)

    def finish(self) -> None:
        """Set directory times, now that their contents are in place."""
        for rel, atime, mtime in self._dir_times:
            try:
                fd = self._dirfd(rel, rel, create=False)
            except InvalidParameter:
                continue  # replaced by a non-directory later in the stream
            if fd is not None:
                os.utime(fd, ns=(atime, mtime))


def _extract(
    stream: BinaryIO,
    dest: str,
    *,
    whiteouts: bool,
    follow: bool,
    owner: tuple[int, int] | None = None,
    no_overwrite_dir_non_dir: bool = False,
) -> ApplyResult:
    src = _Source(stream)
    rootfd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    ex = _Extractor(
        rootfd, whiteouts=whiteouts, follow=follow, owner=owner, no_overwrite_dir_non_dir=no_overwrite_dir_non_dir
    )
    entry: _Entry | None = None  # being extracted
    last: _Entry | None = None  # last one extracted
    try:
        try:
            for entry in _read_entries(src):
                ex.extract(entry, src)
                last, entry = entry, None
            ex.finish()
            src.drain()
        except _Truncated:
            where = f" in {entry.name!r}" if entry else f" after {last.name!r}" if last else ""
            raise InvalidParameter(f"invalid layer tar: unexpected end of stream{where} (truncated archive)") from None
        except ValueError as err:  # e.g. a NUL byte in a PAX path
            raise InvalidParameter(f"invalid layer tar: {err}") from None
        except OSError as err:
            where = f" {entry.name!r}" if entry is not None else ""
            raise EngineError(f"failed to extract{where}: {err.strerror or err}") from err
    finally:
        src.close()
        ex.close()
        os.close(rootfd)
    return ApplyResult(diff_id=src.digest(), size=ex.size)


def apply_layer(stream: BinaryIO, dest: str) -> ApplyResult:
    """Unpack the uncompressed layer tar ``stream`` into ``dest`` as an overlay layer.

    ``dest`` is an existing directory private to the caller, normally empty.
    OCI whiteouts become overlay whiteouts (``.wh.NAME`` → 0/0 character device
    ``NAME``; ``.wh..wh..opq`` → ``trusted.overlay.opaque=y`` on its directory;
    other ``.wh..wh.*`` entries are dropped). Numeric owners, modes (including
    set-id and sticky bits), times (directories' after their contents), symlinks,
    hard links, device nodes, fifos and PAX xattrs (``SCHILY.xattr.*``, except
    ``trusted.overlay.*``) are preserved. The stream is read to its end.

    Returns the diff ID (sha256 of every byte read) and the unpacked size.
    Raises :class:`InvalidParameter` for a corrupt or truncated tar or an entry
    that would land outside ``dest`` (``..``, a path through a symlink, a hard
    link to a missing target), and :class:`EngineError` when the filesystem
    refuses (disk full...). On error ``dest`` is left partly filled: discard it.
    """
    return _extract(stream, dest, whiteouts=True, follow=False)


def untar_into(
    stream: BinaryIO,
    dest: str,
    *,
    owner: tuple[int, int] | None = None,
    no_overwrite_dir_non_dir: bool = False,
) -> ApplyResult:
    """Extract a plain tar into an existing tree (``docker cp`` into a container).

    Unlike :func:`apply_layer`, names are taken literally (no whiteouts) and
    ``dest`` may already hold files, which are replaced; symlinks among the
    parent directories are followed as the container would see them, i.e.
    resolved inside ``dest`` (an absolute or ``..`` target never leaves it). The
    last component of an entry is never followed. ``owner=(uid, gid)`` forces
    ownership (``docker cp`` without ``-a``); ``no_overwrite_dir_non_dir`` makes
    replacing a directory by a non-directory or the reverse an error.
    Returns and raises as :func:`apply_layer`.
    """
    return _extract(
        stream, dest, whiteouts=False, follow=True, owner=owner, no_overwrite_dir_non_dir=no_overwrite_dir_non_dir
    )


# ---------------------------------------------------------------------------
# Walking directories safely
# ---------------------------------------------------------------------------


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _walk(rootfd: int) -> Iterator[tuple[str, int, str, os.stat_result]]:
    """Yield ``(rel, parent_fd, name, lstat)`` for everything below ``rootfd``.

    Depth first, parents before their contents, names in byte order (so the
    order is deterministic). Directories are entered by descriptor with
    ``O_NOFOLLOW`` and checked to be the inode that was listed, so a concurrent
    swap for a symlink is never followed. ``parent_fd`` is valid only until the
    next item is requested. Entries that vanish meanwhile are skipped.
    """

    def listing(fd: int) -> Iterator[tuple[str, os.stat_result]]:
        items = []
        for name in os.listdir(fd):
            try:
                items.append((os.fsencode(name), name, os.stat(name, dir_fd=fd, follow_symlinks=False)))
            except FileNotFoundError:
                continue
        items.sort(key=lambda item: item[0])
        return iter([(name, st) for _, name, st in items])

    top = os.dup(rootfd)
    stack: list[tuple[int, str, Iterator[tuple[str, os.stat_result]]]] = [(top, "", listing(top))]
    try:
        while stack:
            fd, prefix, items = stack[-1]
            item = next(items, None)
            if item is None:
                os.close(fd)
                stack.pop()
                continue
            name, st = item
            rel = prefix + name
            yield rel, fd, name, st
            if stat.S_ISDIR(st.st_mode):
                try:
                    cfd = os.open(name, _O_DIR, dir_fd=fd)
                except OSError:
                    continue
                cst = os.fstat(cfd)
                if (cst.st_dev, cst.st_ino) != (st.st_dev, st.st_ino):
                    os.close(cfd)
                    continue
                stack.append((cfd, rel + "/", listing(cfd)))
    finally:
        for fd, _, _ in stack:
            os.close(fd)


def _read_xattrs(target: int | str, follow: bool = True) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Xattrs of ``target`` sorted by name, split into (others, ``trusted.overlay.*``)."""
    try:
        names = os.listxattr(target, follow_symlinks=follow)
    except OSError as err:
        if err.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return {}, {}
        raise
    plain: dict[str, bytes] = {}
    overlay: dict[str, bytes] = {}
    for key in sorted(names):
        try:
            value = os.getxattr(target, key, follow_symlinks=follow)
        except OSError as err:
            if err.errno != errno.ENODATA:
                raise
            continue
        (overlay if key.startswith(OVERLAY_XATTR_PREFIX) else plain)[key] = value
    return plain, overlay


def _get_xattr(target: int | str, key: str, follow: bool = True) -> bytes | None:
    try:
        return os.getxattr(target, key, follow_symlinks=follow)
    except OSError as err:
        if err.errno in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP):
            return None
        raise


# ---------------------------------------------------------------------------
# Writing tar streams
# ---------------------------------------------------------------------------


def _pax_record(key: bytes, value: bytes) -> bytes:
    body = b" " + key + b"=" + value + b"\n"
    n = len(body)
    digits = len(str(n))
    while len(str(n + digits)) != digits:
        digits += 1
    return b"%d" % (n + digits) + body


def _split_ustar(name: bytes) -> tuple[bytes, bytes] | None:
    """(name, prefix) fields for ``name`` in a ustar header, or None if it does not fit."""
    if not name.isascii():
        return None
    if len(name) <= 100:
        return name, b""
    if len(name) > 256:
        return None
    i = name.find(b"/", len(name) - 101)
    if i <= 0 or i > 155 or i == len(name) - 1:
        return None
    return name[i + 1 :], name[:i]


class _TarWriter:
    """Writes a PAX/ustar tar (as Go's archive/tar does for Docker) and hashes it.

    Headers are ustar whenever the values fit, with a PAX extended header for
    long or non-ASCII names, large numbers and xattrs. No user or group names,
    no access/change times: identical trees give identical bytes.
    """

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._buf = bytearray()
        self._hash = hashlib.sha256()
        self.size = 0

    def _emit(self, data: bytes | bytearray | memoryview) -> None:
        self._buf += data
        if len(self._buf) >= _READ_SIZE:
            self._flush()

    def _flush(self) -> None:
        if self._buf:
            buf = self._buf
            self._buf = bytearray()
            self._hash.update(buf)
            self.size += len(buf)
            self._out.write(buf)

    def header(
        self,
        name: str,
        typeflag: int,
        mode: int,
        uid: int,
        gid: int,
        mtime: int,
        size: int = 0,
        linkname: str = "",
        major: int = 0,
        minor: int = 0,
        xattrs: dict[str, bytes] | None = None,
    ) -> None:
        """Write one header (plus a PAX header before it when needed)."""
        pax: dict[bytes, bytes] = {}
        bname = os.fsencode(name)
        fields = _split_ustar(bname)
        if fields is None:
            pax[b"path"] = bname
            fields = (bname.decode("ascii", "ignore").encode()[-100:], b"")
        blink = os.fsencode(linkname)
        if len(blink) > 100 or not blink.isascii():
            pax[b"linkpath"] = blink
            blink = blink.decode("ascii", "ignore").encode()[:100]
        if not 0 <= uid < 8**7:
            pax[b"uid"] = b"%d" % uid
            uid = 0
        if not 0 <= gid < 8**7:
            pax[b"gid"] = b"%d" % gid
            gid = 0
        if not 0 <= size < 8**11:
            pax[b"size"] = b"%d" % size
        if not 0 <= mtime < 8**11:
            pax[b"mtime"] = b"%d" % mtime
            mtime = 0
        if xattrs:
            for key, value in xattrs.items():
                pax[b"SCHILY.xattr." + os.fsencode(key)] = value
        if pax:
            data = b"".join(_pax_record(k, pax[k]) for k in sorted(pax))
            base = bname.rstrip(b"/").rpartition(b"/")
            pname = (base[0] + b"/" if base[0] else b"") + b"PaxHeaders.0/" + base[2]
            pname = pname.decode("ascii", "ignore").encode()[:100]
            self._emit(self._block(pname, b"", ord("x"), 0o644, 0, 0, len(data), 0, b"", 0, 0, False))
            self._emit(data)
            self._emit(bytes(-len(data) % _BLOCK))
        dev = typeflag in (_CHR, _BLK)
        self._emit(self._block(fields[0], fields[1], typeflag, mode, uid, gid, size, mtime, blink, major, minor, dev))

    @staticmethod
    def _block(
        name: bytes,
        prefix: bytes,
        typeflag: int,
        mode: int,
        uid: int,
        gid: int,
        size: int,
        mtime: int,
        linkname: bytes,
        major: int,
        minor: int,
        dev: bool,
    ) -> bytearray:
        blk = bytearray(_BLOCK)
        blk[0 : len(name)] = name
        blk[100:108] = b"%07o\0" % (mode & 0o7777)
        blk[108:116] = b"%07o\0" % uid
        blk[116:124] = b"%07o\0" % gid
        blk[124:136] = b"%011o\0" % (size if size < 8**11 else 0)
        blk[136:148] = b"%011o\0" % mtime
        blk[148:156] = b"        "
        blk[156] = typeflag
        blk[157 : 157 + len(linkname)] = linkname
        blk[257:265] = b"ustar\x0000"
        if dev:
            blk[329:337] = b"%07o\0" % (major if major < 8**7 else 0)
            blk[337:345] = b"%07o\0" % (minor if minor < 8**7 else 0)
        blk[345 : 345 + len(prefix)] = prefix
        blk[148:156] = b"%06o\0 " % sum(blk)
        return blk

    def data_from_fd(self, fd: int, size: int) -> None:
        """Write exactly ``size`` bytes of content read from ``fd`` (zero-filled
        if the file shrank meanwhile, cut if it grew) and the block padding."""
        left = size
        if size > _READ_SIZE:
            self._flush()
        while left:
            chunk = os.read(fd, min(left, _READ_SIZE))
            if not chunk:
                chunk = bytes(min(left, _READ_SIZE))
            left -= len(chunk)
            if size > _READ_SIZE:
                self._hash.update(chunk)
                self.size += len(chunk)
                self._out.write(chunk)
            else:
                self._emit(chunk)
        self._emit(bytes(-size % _BLOCK))

    def close(self) -> str:
        """Write the end-of-archive blocks; return ``"sha256:<hex>"`` of all output."""
        self._emit(bytes(2 * _BLOCK))
        self._flush()
        return "sha256:" + self._hash.hexdigest()


class _TreeArchiver:
    """Adds walked entries to a :class:`_TarWriter`, preserving hard links."""

    def __init__(self, writer: _TarWriter, *, whiteouts: bool) -> None:
        self.w = writer
        self.whiteouts = whiteouts
        self._links: dict[tuple[int, int], str] = {}

    def add(self, pfd: int, name: str, arcname: str, st: os.stat_result) -> None:
        """Add the entry ``name`` of directory ``pfd`` as ``arcname``."""
        w = self.w
        mode = st.st_mode
        mtime = st.st_mtime_ns // 1_000_000_000  # whole seconds, as Docker's tars
        if self.whiteouts and stat.S_ISCHR(mode) and st.st_rdev == 0:
            parent, _, base = arcname.rpartition("/")
            wname = (parent + "/" if parent else "") + WHITEOUT_PREFIX + base
            w.header(wname, _REG, 0o600, st.st_uid, st.st_gid, mtime)
            return
        if stat.S_ISDIR(mode):
            xattrs, overlay = self._xattrs(_proc_path(pfd, name), arcname, follow=False)
            w.header(arcname + "/", _DIR, mode, st.st_uid, st.st_gid, mtime, xattrs=xattrs)
            if self.whiteouts and overlay.get(OPAQUE_XATTR) == b"y":
                w.header(arcname + "/" + WHITEOUT_OPAQUE, _REG, mode & 0o777, st.st_uid, st.st_gid, 0)
            return
        if stat.S_ISSOCK(mode):
            return  # tar cannot represent sockets
        if st.st_nlink > 1:
            key = (st.st_dev, st.st_ino)
            first = self._links.get(key)
            if first is not None:
                w.header(arcname, _LNK, mode, st.st_uid, st.st_gid, mtime, linkname=first)
                return
            self._links[key] = arcname
        if stat.S_ISREG(mode):
            try:
                fd = os.open(name, _O_READFILE, dir_fd=pfd)
            except OSError as err:
                if err.errno in (errno.ENOENT, errno.ELOOP):
                    return  # vanished or replaced by a symlink meanwhile
                raise
            try:
                fst = os.fstat(fd)
                if (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino):
                    return
                xattrs, _ = self._xattrs(fd, arcname)
                w.header(arcname, _REG, fst.st_mode, fst.st_uid, fst.st_gid, mtime, size=fst.st_size, xattrs=xattrs)
                w.data_from_fd(fd, fst.st_size)
            finally:
                os.close(fd)
        elif stat.S_ISLNK(mode):
            target = os.readlink(name, dir_fd=pfd)
            xattrs, _ = self._xattrs(_proc_path(pfd, name), arcname, follow=False)
            w.header(arcname, _SYM, mode, st.st_uid, st.st_gid, mtime, linkname=target, xattrs=xattrs)
        else:
            t = _CHR if stat.S_ISCHR(mode) else _BLK if stat.S_ISBLK(mode) else _FIFO
            xattrs, _ = self._xattrs(_proc_path(pfd, name), arcname, follow=False)
            w.header(
                arcname,
                t,
                mode,
                st.st_uid,
                st.st_gid,
                mtime,
                major=os.major(st.st_rdev),
                minor=os.minor(st.st_rdev),
                xattrs=xattrs,
            )

    def _xattrs(
        self, target: int | str, arcname: str, follow: bool = True
    ) -> tuple[dict[str, bytes], dict[str, bytes]]:
        xattrs, overlay = _read_xattrs(target, follow)
        if self.whiteouts:
            for key in _UNSUPPORTED_OVERLAY_XATTRS:
                if key in overlay:
                    raise EngineError(
                        f"cannot compute layer: {arcname!r} uses overlay {key.rsplit('.', 1)[1]}; "
                        "mount overlays with redirect_dir=off,metacopy=off"
                    )
        return xattrs, overlay


def diff_tar(upper: str, lowers: list[str], out: BinaryIO) -> str:
    """Write the OCI layer tar of an overlay upper directory to ``out``.

    ``upper`` is a container's writable overlay directory (not mounted or
    mounted: it is only read) and ``lowers`` its image layer directories,
    topmost first. As moby's overlay2 driver does, the layer is the upper
    directory itself: every entry in it, sorted depth first, with numeric
    owners, modes, whole-second mtimes, xattrs (``trusted.overlay.*`` excluded)
    and hard links between its entries; a 0/0 character device becomes
    ``.wh.NAME`` and an opaque directory is followed by ``.wh..wh..opq``. The
    lower directories are not needed to build it (``lowers`` is accepted so
    this has the same shape as :func:`changes`). The output is deterministic.

    Returns the diff ID (``"sha256:<hex>"`` of the bytes written). Raises
    :class:`EngineError` if the upper directory uses overlay redirects or
    metacopy, which would need the lower layers' data; I/O errors propagate.
    """
    del lowers  # see the docstring
    writer = _TarWriter(out)
    archiver = _TreeArchiver(writer, whiteouts=True)
    rootfd = os.open(upper, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if _get_xattr(rootfd, OPAQUE_XATTR) == b"y":
            st = os.fstat(rootfd)
            writer.header(WHITEOUT_OPAQUE, _REG, st.st_mode & 0o777, st.st_uid, st.st_gid, 0)
        _archive_tree(archiver, rootfd, "")
    finally:
        os.close(rootfd)
    return writer.close()


def tar_directory(root: str, out: BinaryIO, include: str = "/", *, arcname: str | None = None) -> str:
    """Write an uncompressed tar of ``include``, a path inside ``root``, to ``out``.

    ``include="/"`` archives the whole tree with names relative to ``root`` and
    no entry for the root itself (``docker export``). Otherwise the archive
    holds one entry named ``arcname`` (default: the last component of
    ``include``) and, for a directory, everything below it (``docker cp`` out of
    a container). Parent components of ``include`` are resolved inside ``root``
    (symlinks followed but never out of it); its last component is not
    followed. The format is that of :func:`diff_tar`, without whiteout
    conversion. Returns ``"sha256:<hex>"`` of the output. Raises
    :class:`NotFound` if ``include`` does not exist and
    :class:`InvalidParameter` if one of its parents is not a directory.
    """
    writer = _TarWriter(out)
    archiver = _TreeArchiver(writer, whiteouts=False)
    parts = [p for p in include.split("/") if p and p != "."]
    rootfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if not parts or parts[-1] == "..":
            # The root, or a directory named through "..": no entry of its own
            # unless a name was asked for.
            topfd = _open_in_root(rootfd, parts, create=False, what=include)
            if topfd is None:
                raise NotFound(f"Could not find the file {include} in container")
            prefix = ""
            try:
                if arcname:
                    top = arcname.strip("/")
                    st = os.fstat(topfd)
                    xattrs, _ = _read_xattrs(topfd)
                    writer.header(top + "/", _DIR, st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns // 10**9, xattrs=xattrs)
                    prefix = top + "/"
                _archive_tree(archiver, topfd, prefix)
            finally:
                os.close(topfd)
            return writer.close()
        pfd = _open_in_root(rootfd, parts[:-1], create=False, what=include)
        if pfd is None:
            raise NotFound(f"Could not find the file {include} in container")
        try:
            try:
                st = os.stat(parts[-1], dir_fd=pfd, follow_symlinks=False)
            except FileNotFoundError:
                raise NotFound(f"Could not find the file {include} in container") from None
            top = (arcname or parts[-1]).strip("/")
            archiver.add(pfd, parts[-1], top, st)
            if stat.S_ISDIR(st.st_mode):
                topfd = os.open(parts[-1], _O_DIR, dir_fd=pfd)
                try:
                    _archive_tree(archiver, topfd, top + "/")
                finally:
                    os.close(topfd)
        finally:
            os.close(pfd)
    finally:
        os.close(rootfd)
    return writer.close()


def _archive_tree(archiver: _TreeArchiver, topfd: int, prefix: str) -> None:
    walker = _walk(topfd)
    try:
        for rel, pfd, name, st in walker:
            archiver.add(pfd, name, prefix + rel, st)
    finally:
        walker.close()


# ---------------------------------------------------------------------------
# docker diff
# ---------------------------------------------------------------------------


class _LowerView:
    """Answers "what is at this path in the image?" for a stack of layer dirs,
    with overlay's lookup rules (whiteouts and opaque directories hide what is
    below them; a non-directory hides everything under its name)."""

    def __init__(self, lowers: list[str]) -> None:
        self.lowers = lowers
        self._cache: dict[tuple[int, str], tuple[os.stat_result | None, bool]] = {}

    def _probe(self, i: int, rel: str) -> tuple[os.stat_result | None, bool]:
        key = (i, rel)
        hit = self._cache.get(key)
        if hit is None:
            # Components are probed shortest first, so every parent of ``path``
            # is already known to be a real directory: lstat follows nothing.
            path = os.path.join(self.lowers[i], rel)
            try:
                st: os.stat_result | None = os.lstat(path)
            except (FileNotFoundError, NotADirectoryError):
                st = None
            opaque = bool(st is not None and stat.S_ISDIR(st.st_mode) and _get_xattr(path, OPAQUE_XATTR, False) == b"y")
            hit = self._cache[key] = (st, opaque)
        return hit

    def lookup(self, rel: str) -> os.stat_result | None:
        parts = rel.split("/")
        last = len(parts) - 1
        for i in range(len(self.lowers)):
            blocked = False
            for j in range(len(parts)):
                st, opaque = self._probe(i, "/".join(parts[: j + 1]))
                if st is None:
                    break
                if _is_whiteout(st):
                    return None
                if j == last:
                    return st
                if not stat.S_ISDIR(st.st_mode):
                    return None
                blocked = blocked or opaque
            if blocked:
                return None
        return None


def _same_time(a: int, b: int) -> bool:
    # As moby's sameFsTime: equal, or equal seconds when one side lacks nanoseconds.
    return a == b or (a // 1_000_000_000 == b // 1_000_000_000 and (a % 1_000_000_000 == 0 or b % 1_000_000_000 == 0))


def changes(upper: str, lowers: list[str]) -> list[Change]:
    """What ``docker diff`` reports for a container, sorted by path.

    ``upper`` is the container's writable overlay directory and ``lowers`` the
    image layer directories, topmost first. Following moby's overlay rules: a
    0/0 character device is a deletion (D); any other entry is a modification
    (C) if the image has something at that path and an addition (A) otherwise;
    a directory the image also has with the same mode and mtime was only copied
    up as a parent and is not reported, unless it is opaque (its content was
    replaced: C) or it is the parent of an addition or deletion (C).
    """
    view = _LowerView(lowers)
    result: list[Change] = []
    changed_dirs: set[str] = set()
    rootfd = os.open(upper, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        walker = _walk(rootfd)
        try:
            for rel, pfd, name, st in walker:
                path = "/" + rel
                if _is_whiteout(st):
                    kind = CHANGE_DELETE
                else:
                    below = view.lookup(rel)
                    if below is None:
                        kind = CHANGE_ADD
                    else:
                        if stat.S_ISDIR(st.st_mode) and stat.S_ISDIR(below.st_mode):
                            opaque = _get_xattr(_proc_path(pfd, name), OPAQUE_XATTR, False) == b"y"
                            if (
                                not opaque
                                and st.st_mode == below.st_mode
                                and _same_time(st.st_mtime_ns, below.st_mtime_ns)
                            ):
                                continue
                        kind = CHANGE_MODIFY
                if stat.S_ISDIR(st.st_mode):
                    changed_dirs.add(path)
                if kind != CHANGE_MODIFY:
                    parent = path.rpartition("/")[0]
                    if parent and parent not in changed_dirs:
                        result.append(Change(parent, CHANGE_MODIFY))
                        changed_dirs.add(parent)
                result.append(Change(path, kind))
        finally:
            walker.close()
    finally:
        os.close(rootfd)
    result.sort()
    return result
