"""Real HTTP servers on 127.0.0.1 for the HTTP bridge tests (threads, `http.server`).

`HttpTestServer` answers a small set of routes (JSON, echo, redirects, status codes, big,
slow, trickling, huge-header and gzip-bomb responses) and records every request it gets.
`Canary` answers nothing useful: it counts every TCP connection made to it, so an SSRF test
can assert that none reached it. Both can serve TLS with a certificate from `ScratchCa`.
"""

from __future__ import annotations

import gzip
import json
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.tls = tls
        self.connections = 0
        self.hits: list[Hit] = []
        self.lock = threading.Lock()

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        with self.lock:
            self.connections += 1
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def handle(self) -> None:
        try:
            if isinstance(self.connection, ssl.SSLSocket):
                self.connection.do_handshake()
            super().handle()
        except (ssl.SSLError, ConnectionError, OSError):
            return

    def _record(self) -> tuple[str, dict[str, list[str]]]:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with self.server.lock:
            self.server.hits.append(
                Hit(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
        parts = urllib.parse.urlsplit(self.path)
        return parts.path, urllib.parse.parse_qs(parts.query)

    def _send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(value).encode(), headers=headers)

    def do_GET(self) -> None:
        self._route()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _route(self) -> None:
        path, query = self._record()
        hit = self.server.hits[-1]
        if path == "/json":
            self._json(200, {"hello": "world", "query": query})
        elif path == "/echo":
            self._json(
                200,
                {
                    "method": hit.method,
                    "headers": hit.headers,
                    "body": hit.body.decode("utf-8", "replace"),
                },
            )
        elif path.startswith("/redirect/"):
            left = int(path.rsplit("/", 1)[1])
            where = f"/redirect/{left - 1}" if left > 0 else "/json"
            self._send(302, b"", headers={"Location": where})
        elif path == "/redirect-to":
            status = int(query.get("status", ["302"])[0])
            self._send(status, b"", headers={"Location": query["url"][0]})
        elif path.startswith("/status/"):
            status = int(path.rsplit("/", 1)[1])
            self._json(status, {"error": f"status {status}"})
        elif path == "/big":
            self._send(200, b"x" * int(query["n"][0]), content_type="text/plain")
        elif path == "/slow":
            time.sleep(float(query["seconds"][0]))
            self._json(200, {"slow": True})
        elif path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(100):
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.05)
        elif path == "/huge-headers":
            size = int(query["n"][0])
            self._send(200, b"{}", headers={"X-Huge": "h" * size})
        elif path == "/text":
            self._send(200, b"not json {", content_type="text/plain; charset=utf-8")
        elif path == "/gzip-bomb":
            body = gzip.compress(b"\0" * int(query["n"][0]))
            self._send(200, body, content_type="text/plain", headers={"Content-Encoding": "gzip"})
        else:
            self._json(404, {"error": "no such route"})


class _CanaryHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def handle(self) -> None:
        try:
            self.connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\ncanary")
        except OSError:
            return


@dataclass
class HttpTestServer:
    """A running server: `url(path)`, `hits`, `connections`; `close()` when done."""

    tls: ssl.SSLContext | None = None
    handler: type[BaseHTTPRequestHandler] = _Handler
    _server: _Server = field(init=False)

    def __post_init__(self) -> None:
        self._server = _Server(self.handler, self.tls)
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def hits(self) -> list[Hit]:
        return self._server.hits

    @property
    def connections(self) -> int:
        return self._server.connections

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def canary() -> HttpTestServer:
    """A server that must never be reached: count its `connections`."""
    return HttpTestServer(handler=_CanaryHandler)


class ScratchCa:
    """A throw-away CA (openssl CLI) issuing server certificates for given names."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.cert = directory / "ca.pem"
        self._run(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(directory / "ca.key"), "-out", str(self.cert),
            "-subj", "/CN=alloy test CA",
        )  # fmt: skip

    def _run(self, *args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    def server_context(self, name: str) -> ssl.SSLContext:
        key, csr, cert = (self.dir / f"{name}.{ext}" for ext in ("key", "csr", "pem"))
        self._run(
            "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
            "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
        )  # fmt: skip
        self._run(
            "x509", "-req", "-in", str(csr), "-CA", str(self.cert),
            "-CAkey", str(self.dir / "ca.key"), "-CAcreateserial", "-days", "2",
            "-out", str(cert), "-copy_extensions", "copy",
        )  # fmt: skip
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))
