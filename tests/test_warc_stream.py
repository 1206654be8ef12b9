"""The WARC writer's file side (archive/warc_stream.py): a large record reaches the file in pieces, and a
write that fails part-way (a full disk) cuts the file back to the record's start and leaves the writer
able to write the next record once there is room again."""

from __future__ import annotations

import errno

import pytest

from archive.warc import Exchange, WarcWriter, read_record, scan_warc
from archive.warc_stream import STREAM_CHUNK


def exchange(body: bytes) -> Exchange:
    return Exchange(url="http://example.org/a", method="GET", target="/a", request_headers=[("Host", "example.org")],
                    request_body=b"", status=200, reason="OK", protocol="HTTP/1.1",
                    response_headers=[("Content-Type", "application/octet-stream")], body=body)


class FullAfter:
    """A real file on a disk with `room` bytes left: as the kernel does, a write is short when the room
    runs out, and the next one fails with ENOSPC; room=None gives room again."""

    def __init__(self, fh, room: int) -> None:
        self.fh, self.room, self.writes = fh, room, 0

    def write(self, data) -> int:
        self.writes += 1
        if self.room is None:
            return self.fh.write(data)
        if self.room == 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = self.fh.write(data[:self.room])
        self.room -= n
        return n

    def __getattr__(self, name):
        return getattr(self.fh, name)


def test_a_large_record_is_streamed_and_a_failed_write_is_cut_back(tmp_path):
    import os

    writer = WarcWriter(tmp_path, "t", {"software": "test"})
    first = writer.write(exchange(b"small"))
    big = os.urandom(5 * STREAM_CHUNK)  # incompressible: several pieces on the way to the file
    disk = FullAfter(writer._buf.fh, room=STREAM_CHUNK + STREAM_CHUNK // 2)
    writer._buf.fh = disk
    end = writer._fh.tell()
    with pytest.raises(OSError):
        writer.write(exchange(big))
    assert disk.writes >= 2 and writer._fh.tell() == end  # it had written pieces; the file is cut back
    assert os.path.getsize(tmp_path / writer.name) == end
    disk.room = None  # room again: the same writer goes on
    second = writer.write(exchange(big))
    writer.close()
    report = scan_warc(tmp_path / writer.name)
    assert report.ok and report.torn_at is None
    assert [r.type for r in report.records] == ["warcinfo", "response", "request", "response", "request"]
    assert read_record(tmp_path / writer.name, first.warc_offset).payload == b"small"
    assert read_record(tmp_path / writer.name, second.warc_offset).payload == big
