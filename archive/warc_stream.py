"""The file side of archive.warc.WarcWriter: compressed records reach the WARC file in chunks, whole or
not at all, with an optional fault-injection pause in the middle of a record (for kill -9 tests)."""

from __future__ import annotations

import io
import logging
import os
import time
from pathlib import Path

STREAM_CHUNK = 1 << 20  # compressed bytes of a record reach the file in pieces of (at least) this size
PAUSE_ENV = "GOVNEWS_FAULT_WARC_PAUSE_AFTER"  # fault injection, off by default: see RecordStream
PAUSE_SECONDS = 600  # how long the fault injection (pause_after) stops a write; a test kills it meanwhile
log = logging.getLogger(__name__)


class RecordStream:
    """What warcio writes the records of one exchange into: the compressed bytes collect here and go to
    the file whenever STREAM_CHUNK of them are waiting, the rest at `commit`. `abort` cuts the file back
    to where the exchange began (a failed write, e.g. a full disk), so the file never ends torn.

    `pause_after` (fault injection, off when 0): the first time that many bytes of one exchange are in
    the file while warcio is still writing it, `<file>.paused` is written (holding the exchange's offset)
    and the write stops for PAUSE_SECONDS, so a test can kill the process in the middle of a record,
    deterministically (a payload much larger than pause_after + STREAM_CHUNK is cut inside its body).
    """

    def __init__(self, fh: io.FileIO, pause_after: int = 0) -> None:
        self.fh, self.pause_after = fh, pause_after
        self.buf = bytearray()
        self.start = fh.tell()

    def begin(self) -> None:
        self.start = self.fh.tell()

    def write(self, data: bytes) -> int:
        self.buf += data
        if len(self.buf) >= STREAM_CHUNK:
            self._drain()
            if self.pause_after and self.fh.tell() - self.start >= self.pause_after:
                self._pause()
        return len(data)

    def flush(self) -> None:
        """warcio flushes at the end of each record; the bytes reach the file at `commit` (or sooner)."""

    def tell(self) -> int:
        return self.fh.tell() + len(self.buf)

    def commit(self) -> None:
        self._drain()

    def abort(self) -> None:
        self.buf.clear()
        try:
            os.ftruncate(self.fh.fileno(), self.start)
            self.fh.seek(self.start)
        except OSError:
            pass  # the next run's recovery sets a torn tail aside

    def _drain(self) -> None:
        # A copy (at most ~STREAM_CHUNK): a view of the bytearray itself, kept alive by the traceback of a
        # failed write (a full disk), would forbid resizing it again (BufferError on every later record).
        view = memoryview(bytes(self.buf))
        self.buf.clear()
        while view:
            view = view[self.fh.write(view):]

    def _pause(self) -> None:
        marker = Path(f"{self.fh.name}.paused")
        part = marker.with_name(marker.name + ".part")
        part.write_text(str(self.start), encoding="ascii")
        os.replace(part, marker)  # whole when it appears: a test that sees it may kill at once
        log.warning("fault injection: WARC write paused %d bytes into the record at %s:%d",
                    self.fh.tell() - self.start, self.fh.name, self.start)
        self.pause_after = 0  # once
        time.sleep(PAUSE_SECONDS)
