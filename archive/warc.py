"""Raw captures in WARC/1.1 (gzip, one record per gzip member), written with warcio.

`WarcWriter` appends request/response (or revisit) record pairs to rotating files; every record is
flushed before its pointer is handed out, so a database row never points at bytes that are not on
disk. A large payload goes to the file in pieces as it is compressed (archive.warc_stream: never held
compressed in memory whole); a small exchange reaches the file in one write. `scan_warc` walks a file
member by member: it checks every record's digests and notices a torn last record (a crawl killed
mid-write) without failing; `repair_torn_tail` moves such a tail aside.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import io
import os
import socket
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import BufferedReader
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.warc_stream import PAUSE_ENV, RecordStream

DEFAULT_MAX_SIZE = 1 << 30  # rotate WARC files at 1 GB
# gzip level of each record (warcio's own is 9). Measured on the 27 real pages over 2 KB in /work/shared
# (70 KB mean): level 9 1.46 ms/page at 0.200 of the size, 6 1.06 ms at 0.201, 3 0.66 ms at 0.219, 1 0.56 ms at 0.229.
DEFAULT_GZIP_LEVEL = 6
WARC_SUFFIX = ".warc.gz"


class _BrotliForWarcio:
    """Google's `brotli` behind the interface warcio 1.8 expects (brotlipy's): decompress(), unused_data.

    warcio sets `unused_data` on `brotli.Decompressor()`, which Google's C type refuses (AttributeError),
    so every reader of a `Content-Encoding: br` record failed. Registered for our readers (verify, WACZ
    indexing); the crawler also stops asking servers for br (crawler/settings.py), see docs/faults.md.
    """

    def __init__(self) -> None:
        import brotli

        self._decompressor = brotli.Decompressor()
        self.unused_data = None

    def decompress(self, data: bytes) -> bytes:
        return self._decompressor.process(data)

    def flush(self) -> bytes:
        return b""


def _register_brotli() -> None:
    try:
        import brotli
    except ImportError:
        return
    if not hasattr(brotli.Decompressor, "process"):  # brotlipy: warcio's own support works
        return
    BufferedReader.DECOMPRESSORS["br"] = _BrotliForWarcio


_register_brotli()


def payload_digest(body: bytes) -> str:
    """The WARC-Payload-Digest of a body, as warcio writes it (sha1, base32)."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


class RawHeaders(StatusAndHeaders):
    """HTTP headers written back byte for byte (latin-1 round trip), not %-encoded like warcio's default."""

    def compute_headers_buffer(self, header_filter=None) -> None:
        self.headers_buff = self.to_str(header_filter).encode("latin-1", "replace") + b"\r\n"


def _latin1(v: bytes | str) -> str:
    return v.decode("latin-1") if isinstance(v, bytes) else v


@dataclass
class Exchange:
    """One HTTP request and the response to it, as seen on the wire (body before content decoding)."""

    url: str
    method: str
    target: str  # request target: path and query string, as sent
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int
    reason: str
    protocol: str
    response_headers: list[tuple[str, str]]
    body: bytes
    ip_address: str | None = None
    notes: dict[str, str] = field(default_factory=dict)  # extra WARC header fields (e.g. GovNews-Fetched-By)


@dataclass
class Capture:
    """Where a response record sits: the pointer stored beside what was extracted from it."""

    warc_file: str
    warc_offset: int
    warc_length: int
    payload_digest: str
    record_id: str
    warc_date: str
    revisit_of: str | None = None  # record id of the original capture when this is a revisit
    warc_dir: str | None = None  # where the file was written: "host:/abs/dir" (workers write on their own disks)

    def pointer(self) -> dict:
        return {"warc_file": self.warc_file, "warc_offset": self.warc_offset,
                "warc_length": self.warc_length, "payload_digest": self.payload_digest}


def warc_location(directory: str | os.PathLike) -> str:
    """`host:/absolute/dir`: where a WARC file is written, as recorded in captures.warc_dir."""
    return f"{socket.gethostname()}:{Path(directory).resolve()}"


class _GzipMember:
    """warcio's GzippingWrapper at a chosen level: one gzip member per record, ended by the record's flush."""

    def __init__(self, out: io.BytesIO, level: int) -> None:
        self.out, self.compressor = out, zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)

    def write(self, buff: bytes) -> None:
        self.out.write(self.compressor.compress(buff))

    def flush(self) -> None:
        self.out.write(self.compressor.flush())
        self.out.flush()


class _LevelWARCWriter(WARCWriter):
    def __init__(self, out: io.BytesIO, level: int, **kwargs) -> None:
        super().__init__(out, gzip=False, **kwargs)
        self.level = level

    def write_record(self, record, params=None) -> None:
        self._write_warc_record(_GzipMember(self.out, self.level), record)


class WarcWriter:
    """Write exchanges to `<directory>/<prefix>-<serial>.warc.gz`, rotating at `max_size` bytes.

    Fault injection for tests (see RecordStream): the environment variable GOVNEWS_FAULT_WARC_PAUSE_AFTER
    (bytes) stops a write that far into a record; unset or 0, the default, is off."""

    def __init__(self, directory: str | os.PathLike, prefix: str, info: dict[str, str],
                 max_size: int = DEFAULT_MAX_SIZE, gzip_level: int = DEFAULT_GZIP_LEVEL) -> None:
        self.gzip_level = gzip_level
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.location = warc_location(self.directory)
        self.prefix, self.info, self.max_size = prefix, dict(info), max_size
        self.serial = 0
        self.files: list[str] = []
        self._fh: io.FileIO | None = None
        self._buf: RecordStream | None = None  # what warcio writes the records into (see _records)
        self._writer: WARCWriter | None = None
        self.name = ""
        self.pause_after = int(os.environ.get(PAUSE_ENV) or 0)

    def _open(self) -> None:
        self.serial += 1
        self.name = f"{self.prefix}-{self.serial:05d}{WARC_SUFFIX}"
        # "xb": never append to (or clobber) an existing file, whatever state it is in.
        # Unbuffered: RecordStream does the buffering and knows exactly what reached the file.
        self._fh = open(self.directory / self.name, "xb", buffering=0)
        self._buf = RecordStream(self._fh, self.pause_after)
        # Held while the file is written (the kernel drops it on kill -9): recovery leaves a locked file alone.
        fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._writer = _LevelWARCWriter(self._buf, self.gzip_level, warc_version="WARC/1.1")
        self.files.append(self.name)
        info = dict(self.info)
        info.setdefault("hostname", socket.gethostname())
        info.setdefault("format", "WARC File Format 1.1")
        info.setdefault("conformsTo", "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/")
        self._records(self._writer.create_warcinfo_record(self.name, info))

    def _records(self, *records) -> list[int]:
        """Append records (one exchange), whole or not at all: when a write fails (a full disk) the file
        is cut back to where they began, so it never ends in a torn record, then the error is raised.
        Returns each record's offset and, last, the offset where the exchange ends."""
        assert self._buf is not None and self._writer is not None
        self._buf.begin()
        offsets = []
        try:
            for rec in records:
                offsets.append(self._buf.tell())
                self._writer.write_record(rec)
            offsets.append(self._buf.tell())
            self._buf.commit()
        except OSError:
            self._buf.abort()
            raise
        return offsets

    def _ensure_file(self) -> None:
        if self._fh is None or self._fh.tell() >= self.max_size:
            self.close()
            self._open()

    def write(self, ex: Exchange, revisit_of: dict | None = None) -> Capture:
        """Append the response (or a revisit of `revisit_of`: {url, date, record_id}) and its request."""
        self._ensure_file()
        assert self._fh is not None and self._writer is not None
        w = self._writer
        digest = payload_digest(ex.body)
        resp_http = RawHeaders(f"{ex.status} {ex.reason}".strip(),
                               [(_latin1(k), _latin1(v)) for k, v in ex.response_headers],
                               protocol=ex.protocol or "HTTP/1.1")
        warc_headers = {"WARC-IP-Address": ex.ip_address} if ex.ip_address else {}
        warc_headers.update(ex.notes)
        if revisit_of:
            resp = w.create_revisit_record(ex.url, digest, revisit_of["url"], revisit_of["date"],
                                           http_headers=resp_http, warc_headers_dict=warc_headers)
            resp.rec_headers.add_header("WARC-Refers-To", revisit_of["record_id"])
        else:
            resp = w.create_warc_record(ex.url, "response", payload=io.BytesIO(ex.body), length=len(ex.body),
                                        http_headers=resp_http, warc_headers_dict=warc_headers)
        req_http = RawHeaders(f"{ex.method} {ex.target} HTTP/1.1",
                              [(_latin1(k), _latin1(v)) for k, v in ex.request_headers], is_http_request=True)
        req = w.create_warc_record(ex.url, "request", payload=io.BytesIO(ex.request_body or b""),
                                   length=len(ex.request_body or b""), http_headers=req_http)
        req.rec_headers.replace_header("WARC-Date", resp.rec_headers.get_header("WARC-Date"))
        req.rec_headers.add_header("WARC-Concurrent-To", resp.rec_headers.get_header("WARC-Record-ID"))
        offset, request_at, _ = self._records(resp, req)
        length = request_at - offset
        return Capture(self.name, offset, length, digest, resp.rec_headers.get_header("WARC-Record-ID"),
                       resp.rec_headers.get_header("WARC-Date"),
                       revisit_of["record_id"] if revisit_of else None, self.location)

    def write_resource(self, url: str, body: bytes, content_type: str, notes: dict[str, str] | None = None) -> Capture:
        """Append a resource record: content made here, not received (a page's DOM as a browser rendered it)."""
        self._ensure_file()
        assert self._fh is not None and self._writer is not None
        rec = self._writer.create_warc_record(url, "resource", payload=io.BytesIO(body), length=len(body),
                                              warc_content_type=content_type, warc_headers_dict=dict(notes or {}))
        offset, end = self._records(rec)
        length = end - offset
        return Capture(self.name, offset, length, payload_digest(body), rec.rec_headers.get_header("WARC-Record-ID"),
                       rec.rec_headers.get_header("WARC-Date"), warc_dir=self.location)

    def close(self) -> None:
        if self._fh is not None:
            try:
                os.fsync(self._fh.fileno())
            finally:
                self._fh.close()
                self._fh = self._writer = self._buf = None


# -- reading and verifying ---------------------------------------------------------------------------

@dataclass
class RecordInfo:
    offset: int
    length: int
    type: str
    uri: str | None
    record_id: str | None
    digest: str | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class ScanReport:
    path: Path
    records: list[RecordInfo] = field(default_factory=list)
    torn_at: int | None = None  # offset of an incomplete last record (a crawl killed mid-write)
    torn_bytes: int = 0
    corrupt: str | None = None  # an unreadable member that is not the file's tail

    @property
    def problems(self) -> list[str]:
        out = [f"offset {r.offset} {r.type} {r.uri}: {p}" for r in self.records for p in r.problems]
        if self.corrupt:
            out.append(self.corrupt)
        return out

    @property
    def ok(self) -> bool:
        return not self.problems


def _members(fh, chunk: int = 1 << 20) -> Iterator[tuple[int, int, bytes | None]]:
    """Yield (offset, compressed length, decompressed bytes) per gzip member; bytes None for a torn tail."""
    offset = 0
    pending = b""
    while True:
        d = zlib.decompressobj(zlib.MAX_WBITS | 16)
        out = bytearray()
        consumed = 0
        data = pending
        pending = b""
        while not d.eof:
            if not data:
                data = fh.read(chunk)
                if not data:
                    break
            try:
                out += d.decompress(data)
            except zlib.error as e:
                raise ValueError(f"offset {offset}: not a gzip member ({e})") from None
            consumed += len(data) - len(d.unused_data)
            data = b""
        if not d.eof:
            if consumed or out:
                yield offset, consumed, None
            return
        pending = d.unused_data
        yield offset, consumed, bytes(out)
        offset += consumed


def scan_warc(path: str | os.PathLike) -> ScanReport:
    """Read every record of a WARC file, checking its digests; a torn last record is noted, not fatal."""
    report = ScanReport(Path(path))
    size = report.path.stat().st_size
    with open(path, "rb") as fh:
        try:
            for offset, length, data in _members(fh):
                if data is None:
                    report.torn_at, report.torn_bytes = offset, size - offset
                    break
                report.records.append(_check_record(offset, length, data))
        except ValueError as e:
            # A killed writer only ever truncates; bytes that are not gzip at all mean real corruption.
            report.corrupt = str(e)
    return report


def _check_record(offset: int, length: int, data: bytes) -> RecordInfo:
    info = RecordInfo(offset, length, "?", None, None)
    try:
        records = list(_parse(data))
    except Exception as e:  # noqa: BLE001 - any parse failure is a problem to report, not to raise
        info.problems.append(f"unparseable record: {e}")
        return info
    if len(records) != 1:
        info.problems.append(f"{len(records)} records in one gzip member")
    if records:
        rec, problems = records[0]
        info.type = rec.rec_type
        info.uri = rec.rec_headers.get_header("WARC-Target-URI")
        info.record_id = rec.rec_headers.get_header("WARC-Record-ID")
        info.digest = rec.rec_headers.get_header("WARC-Payload-Digest")
        info.problems.extend(problems)
    return info


def _parse(data: bytes):
    for rec in ArchiveIterator(io.BytesIO(data), check_digests=True):
        stream = rec.content_stream()
        while stream.read(1 << 20):
            pass
        problems = list(rec.digest_checker.problems) if rec.digest_checker.passed is False else []
        yield rec, problems


def warc_files(directory: str | os.PathLike) -> list[Path]:
    return sorted(Path(directory).glob(f"*{WARC_SUFFIX}"))


def repair_torn_tail(path: str | os.PathLike) -> int:
    """Move a torn last record out of `path` into `<path>.torn-<offset>` (kept, never deleted).

    Returns the number of bytes moved (0 when the file ends on a complete record, and 0 without looking
    when a live crawl is writing the file: its last record is in progress, not torn).
    """
    p = Path(path)
    with open(p, "r+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0
        report = scan_warc(path)
        if report.torn_at is None:
            return 0
        fh.seek(report.torn_at)
        tail = fh.read()
        side = p.with_name(f"{p.name}.torn-{report.torn_at}")
        side.write_bytes(tail)
        fh.truncate(report.torn_at)
        fh.flush()
        os.fsync(fh.fileno())
    return len(tail)


def read_record(path: str | os.PathLike, offset: int):
    """The record at `offset` (a warcio ArcWarcRecord with its content read into .payload)."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        for rec in ArchiveIterator(fh):
            rec.payload = rec.content_stream().read()
            return rec
    raise ValueError(f"no record at {path}:{offset}")


def read_payload(db: str | os.PathLike, warc_dir: str | os.PathLike, warc_file: str, offset: int) -> bytes:
    """The HTTP payload a capture pointer stands for, following a revisit record to its original."""
    import sqlite3

    rec = read_record(Path(warc_dir) / warc_file, offset)
    if rec.rec_type != "revisit":
        return rec.payload
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT warc_file, warc_offset FROM captures WHERE record_id = ?",
                           [rec.rec_headers.get_header("WARC-Refers-To")]).fetchone()
    finally:
        conn.close()
    if row is None:
        raise ValueError(f"{warc_file}:{offset} is a revisit of a record this archive does not index")
    return read_record(Path(warc_dir) / row[0], row[1]).payload


def good_prefix_length(report: ScanReport) -> int:
    """Bytes of the file up to the end of its last complete record."""
    return report.torn_at if report.torn_at is not None else report.path.stat().st_size


def warc_date(dt: datetime | None = None) -> str:
    dt = dt or datetime.now(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def verify(paths: Iterable[str | os.PathLike]) -> list[ScanReport]:
    return [scan_warc(p) for p in paths]


POINTER_TABLES = ("captures", "article_versions", "articles", "attachments")


def verify_pointers(db: str | os.PathLike, reports: list[ScanReport], missing: Iterable[str] = ()) -> list[str]:
    """Check every capture pointer stored in the archive lands on a record with that payload digest
    (pointers into the `missing` files are left out: archive.gather reports each such file once)."""
    import sqlite3

    at = {(r.path.name, rec.offset): rec for r in reports for rec in r.records}
    problems, missing = [], set(missing)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        for table in POINTER_TABLES:
            rows = conn.execute(f"SELECT rowid, warc_file, warc_offset, warc_length, payload_digest FROM {table} "
                                "WHERE warc_file IS NOT NULL")
            for rowid, name, offset, length, digest in rows:
                if name in missing:
                    continue
                rec = at.get((name, offset))
                if rec is None:
                    problems.append(f"{table} row {rowid}: no record at {name}:{offset}")
                elif rec.length != length or rec.digest != digest:
                    problems.append(f"{table} row {rowid}: {name}:{offset} is {rec.length} bytes, {rec.digest}; "
                                    f"the row says {length} bytes, {digest}")
    finally:
        conn.close()
    return problems
