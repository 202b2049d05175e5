"""A sandbox server whose port another process took says so, instead of talking to that process."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from fixtures.sandbox import processes, servers


def test_a_registry_port_taken_by_another_server_is_named(tmp_path: Path) -> None:
    other = http.server.ThreadingHTTPServer(("127.0.0.1", processes.free_port()), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=other.serve_forever, daemon=True)
    thread.start()
    try:
        port = other.server_address[1]
        with pytest.raises(servers.PortTaken, match=rf"127\.0\.0\.1:{port} is answered by another process"):
            servers.start_registry(tmp_path, port)
    finally:
        other.shutdown()
        other.server_close()
        thread.join(timeout=5)
