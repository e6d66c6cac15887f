"""Where the Great Expectations Data Docs live and how a browser reaches them from the Dagster UI.

GX renders the site under `<CIES_DATA_DIR>/gx/uncommitted/data_docs/local_site/`. Browsers refuse file://
links from the Dagster UI page, so `cies-pipeline ui` serves that folder on loopback (this module's
`DataDocsServer`, port CIES_DATA_DOCS_PORT, default 3001) and checks carry an http link to their page
(`page_url`; base URL CIES_DATA_DOCS_URL when the site is served elsewhere, e.g. behind a proxy).
"""
from __future__ import annotations

import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

SITE_SUBDIR = Path("uncommitted") / "data_docs" / "local_site"
DEFAULT_PORT = 3001
HOST = "127.0.0.1"


def site_dir(gx_dir: Path) -> Path:
    """The Data Docs site folder of a GX file context rooted at `gx_dir`."""
    return Path(gx_dir) / SITE_SUBDIR


def port() -> int:
    """CIES_DATA_DOCS_PORT, default 3001; a value that is not a port fails loudly."""
    raw = os.environ.get("CIES_DATA_DOCS_PORT") or str(DEFAULT_PORT)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"CIES_DATA_DOCS_PORT='{raw}': se esperaba un número de puerto entre 1 y 65535")
    return int(raw)


def base_url() -> str:
    """CIES_DATA_DOCS_URL, else http://127.0.0.1:<port>: where the site folder is served."""
    return (os.environ.get("CIES_DATA_DOCS_URL") or f"http://{HOST}:{port()}").rstrip("/")


def page_url(page: str | Path | None, gx_dir: Path) -> str | None:
    """The http URL of a Data Docs page (a path inside the site folder); None when there is no page or it
    lies outside the site."""
    if not page:
        return None
    try:
        relative = Path(page).resolve().relative_to(site_dir(gx_dir).resolve())
    except ValueError:
        return None
    return f"{base_url()}/{quote(relative.as_posix())}"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's signature
        pass  # a page view is not worth a line in the terminal running dagster dev


class DataDocsServer:
    """A threaded static server of the Data Docs folder on loopback. `start()` returns self; `stop()` joins."""

    def __init__(self, gx_dir: Path, host: str = HOST, port_number: int | None = None):
        self.directory = site_dir(gx_dir)
        self.host = host
        self.port = port() if port_number is None else port_number
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "DataDocsServer":
        # The folder appears on the first validation: create it so the server starts before any refresh.
        self.directory.mkdir(parents=True, exist_ok=True)
        handler = functools.partial(_QuietHandler, directory=str(self.directory))
        self._server = ThreadingHTTPServer((self.host, self.port), handler)
        self.port = self._server.server_address[1]  # port 0 asks the OS for a free one (tests)
        self._thread = threading.Thread(target=self._server.serve_forever, name="cies-data-docs", daemon=True)
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
