"""A real HTTP server on loopback that answers like a price portal, from hand-written files."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "prices"

Answer = tuple[int, bytes, str]
Responder = Callable[[str, dict[str, str]], Answer]


def fixture_answer(name: str, *, status: int = 200, folder: Path = FIXTURES) -> Answer:
    kind = "application/json" if name.endswith(".json") else "text/xml"
    return status, (folder / name).read_bytes(), kind


@dataclass
class PriceServer:
    url: str
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    responder: Responder = lambda path, query: (404, b"", "text/plain")


def _handler(server: PriceServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query))
            server.requests.append((parts.path, query))
            server.headers.append({k.lower(): v for k, v in self.headers.items()})
            status, body, kind = server.responder(parts.path, query)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 204:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def price_server() -> Iterator[PriceServer]:
    """A loopback HTTP server; set `.responder` to choose the answers."""
    server = PriceServer(url="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}/api"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server
    httpd.shutdown()
    httpd.server_close()
