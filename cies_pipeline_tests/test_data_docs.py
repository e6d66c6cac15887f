"""quality.data_docs: http links to Data Docs pages and the loopback server `cies-pipeline ui` starts."""
from __future__ import annotations

import urllib.request

import pytest

from cies_pipeline.quality import data_docs


def test_page_url_from_a_page_path(tmp_path, monkeypatch):
    monkeypatch.delenv("CIES_DATA_DOCS_URL", raising=False)
    monkeypatch.delenv("CIES_DATA_DOCS_PORT", raising=False)
    page = data_docs.site_dir(tmp_path) / "validations" / "dim_entidad" / "x y.html"
    assert data_docs.page_url(page, tmp_path) == "http://127.0.0.1:3001/validations/dim_entidad/x%20y.html"
    monkeypatch.setenv("CIES_DATA_DOCS_PORT", "3999")
    assert data_docs.page_url(page, tmp_path).startswith("http://127.0.0.1:3999/validations/")
    monkeypatch.setenv("CIES_DATA_DOCS_URL", "https://calidad.example.org/docs/")
    assert data_docs.page_url(page, tmp_path) == "https://calidad.example.org/docs/validations/dim_entidad/x%20y.html"
    assert data_docs.page_url(tmp_path / "elsewhere.html", tmp_path) is None
    assert data_docs.page_url(None, tmp_path) is None


def test_bad_port_fails_loudly(monkeypatch):
    monkeypatch.setenv("CIES_DATA_DOCS_PORT", "tres mil")
    with pytest.raises(ValueError, match="CIES_DATA_DOCS_PORT='tres mil'"):
        data_docs.port()


def test_server_serves_the_site_folder_and_stops(tmp_path):
    site = data_docs.site_dir(tmp_path)
    site.mkdir(parents=True)
    (site / "index.html").write_text("<h1>Data Docs</h1>", encoding="utf-8")
    server = data_docs.DataDocsServer(tmp_path, port_number=0).start()
    url = f"{server.url}/index.html"
    assert server.host == "127.0.0.1"
    with urllib.request.urlopen(url, timeout=5) as answer:
        assert answer.read() == b"<h1>Data Docs</h1>"
    server.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=2)
