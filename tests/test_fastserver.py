"""The benchmark server answers each request in one write (no Nagle/delayed-ACK stall on keep-alive)."""

from __future__ import annotations

import socket

from fixtures.fastserver import _Http
from fixtures.sites.generated import Generated


class RecordingTransport:
    """Stands in for asyncio's transport: records each write() the protocol makes."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.sock = socket.socket()

    def get_extra_info(self, name: str):
        return self.sock if name == "socket" else None

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.sock.close()


def test_each_keep_alive_response_is_one_write_with_nodelay():
    _Http.gen = Generated(40, 2, 4)
    proto, transport = _Http(), RecordingTransport()
    proto.connection_made(transport)
    assert transport.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    proto.data_received(req + req)  # two requests on one kept-alive connection
    assert len(transport.writes) == 2
    for w in transport.writes:
        head, body = w.split(b"\r\n\r\n", 1)
        length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1])
        assert len(body) == length > 0
    transport.close()
