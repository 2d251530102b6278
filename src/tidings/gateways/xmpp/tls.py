"""Server-side TLS over memory buffers (``ssl.MemoryBIO``): ciphertext in, plaintext out.

STARTTLS upgrades a socket that is already speaking XMPP, and asyncio's own way
to do that (``loop.start_tls``) allocates a 256 KiB zero-filled read buffer per
connection, which is most of what an idle client would cost. This wrapper keeps
no buffer of its own: OpenSSL holds the connection state (and releases its record
buffers while idle), and the caller moves bytes between the socket and
:meth:`TlsSession.receive` / :meth:`TlsSession.encrypt`. No I/O happens here.
"""

from __future__ import annotations

import ssl

#: Plaintext taken out of OpenSSL per ``read`` call: one TLS record at most.
READ_SIZE = 16384


class TlsError(Exception):
    """The peer broke TLS (bad handshake, corrupt record); the connection is unusable.

    ``output`` is the alert OpenSSL produced, worth sending before closing.
    """

    def __init__(self, message: str, output: bytes) -> None:
        super().__init__(message)
        self.output = output


class TlsSession:
    """One server-side TLS connection; feed it what the socket reads, send what it returns."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._ssl = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self.handshake_done = False
        #: The peer sent close_notify: no more plaintext will come.
        self.peer_closed = False
        self.closed = False

    def receive(self, data: bytes) -> tuple[bytes, bytes]:
        """Take ciphertext from the socket; return ``(plaintext, ciphertext to send)``.

        The ciphertext to send carries handshake replies; raises :class:`TlsError`.
        """
        if data:
            self._incoming.write(data)
        plaintext: list[bytes] = []
        try:
            if not self.handshake_done:
                self._ssl.do_handshake()
                self.handshake_done = True
            while not self.peer_closed:
                chunk = self._ssl.read(READ_SIZE)
                if not chunk:  # close_notify (no data yet raises SSLWantReadError instead)
                    self.peer_closed = True
                    break
                plaintext.append(chunk)
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLZeroReturnError:
            self.peer_closed = True
        except ssl.SSLError as exc:
            self.closed = True
            raise TlsError(str(exc), self._outgoing.read()) from None
        return b"".join(plaintext), self._outgoing.read()

    def tls_unique(self) -> bytes | None:
        """RFC 5929 §3 ``tls-unique`` for SCRAM-*-PLUS; None on TLS 1.3, where RFC 9266 §3
        forbids it, and before the handshake."""
        if not self.handshake_done or self._ssl.version() in (None, "TLSv1.3"):
            return None
        return self._ssl.get_channel_binding("tls-unique")

    def encrypt(self, plaintext: bytes) -> bytes:
        """Records for ``plaintext``; only valid once the handshake is done."""
        if self.closed or not self.handshake_done or not plaintext:
            return b""  # nothing can be sent before the handshake, and nothing is sent then
        self._ssl.write(plaintext)
        return self._outgoing.read()

    def close(self) -> bytes:
        """Our close_notify, to send before closing the socket (once)."""
        if self.closed or not self.handshake_done:
            self.closed = True
            return b""
        self.closed = True
        try:
            self._ssl.unwrap()
        except ssl.SSLError:
            pass  # SSLWantReadError: the peer's close_notify has not come, and need not
        return self._outgoing.read()
