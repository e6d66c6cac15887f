"""memo.py: file hashes remembered by stat, stored results by key, and what invalidates them."""
from __future__ import annotations

import hashlib
import os
import shutil

import pandas as pd
import pytest

from cies_pipeline import memo
from cies_pipeline.memo import Cache, FileHashes, Memo, memo_key, table_fingerprint
from cies_pipeline.sources.sesnsp import read_sesnsp_dir


def test_file_hash_is_sha256_and_is_remembered_by_stat(tmp_path):
    f = tmp_path / "a.csv"
    f.write_bytes(b"uno,dos\n")
    hashes = FileHashes(tmp_path / "cache")
    assert hashes.sha256(f) == hashlib.sha256(b"uno,dos\n").hexdigest()
    hashes.save()
    st = f.stat()
    # same size, mtime and inode: the remembered hash is trusted (the file is not read again) ...
    f.write_bytes(b"UNO,DOS\n")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert FileHashes(tmp_path / "cache").sha256(f) == hashlib.sha256(b"uno,dos\n").hexdigest()
    # ... any change of stat hashes it again
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert FileHashes(tmp_path / "cache").sha256(f) == hashlib.sha256(b"UNO,DOS\n").hexdigest()


def test_memo_keeps_the_latest_key_per_name_and_survives_a_broken_file(tmp_path):
    m = Memo(tmp_path)
    assert m.get("x", "k1", "nada") == "nada"
    m.put("x", "k1", {"v": 1})
    m.put("x", "k2", {"v": 2})
    assert m.get("x", "k1") is None and m.get("x", "k2") == {"v": 2}
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["k2.pkl"]
    (tmp_path / "x" / "k2.pkl").write_bytes(b"no es pickle")
    assert m.get("x", "k2", "recalcular") == "recalcular"


def test_memo_key_depends_on_every_part():
    assert memo_key("a", [1, 2], "2026-11") == memo_key("a", [1, 2], "2026-11")
    assert len({memo_key("a", [1, 2], "2026-11"), memo_key("a", [2, 1], "2026-11"),
                memo_key("a", [1, 2], "2026-12")}) == 3


def test_table_fingerprint_sees_values_order_and_types():
    a = pd.DataFrame({"x": [1, 2], "y": ["p", "q"]})
    assert table_fingerprint(a) == table_fingerprint(a.copy())
    assert table_fingerprint(a) != table_fingerprint(a.assign(x=[1, 3]))
    assert table_fingerprint(a) != table_fingerprint(a.iloc[::-1])
    assert table_fingerprint(a) != table_fingerprint(a.astype({"x": "float64"}))
    assert table_fingerprint(pd.DataFrame({"x": [[1], [2]]})) == ""   # unhashable: always "changed"


def _sesnsp_dir(tmp_path, sample_dir):
    d = tmp_path / "sesnsp"
    shutil.copytree(sample_dir / "sesnsp", d)
    return d


def test_a_sesnsp_folder_read_twice_reads_only_what_changed(tmp_path, sample_dir, monkeypatch):
    d = _sesnsp_dir(tmp_path, sample_dir)
    cache = Cache(tmp_path / "cache")
    first = read_sesnsp_dir(d, cache=cache)
    assert first.reutilizados == [] and first.huella
    again = read_sesnsp_dir(d, cache=Cache(tmp_path / "cache"))
    assert sorted(again.reutilizados) == sorted(p.name for p in d.glob("*.csv"))
    assert again.huella == first.huella
    for kind, frame in first.frames.items():
        pd.testing.assert_frame_equal(again.frames[kind], frame)
    assert again.contabilidad().equals(first.contabilidad())

    # one file changes (a revised figure): only it is read again, and the folder's fingerprint changes
    target = d / "IDEFC_NM_dic25.csv"
    lines = target.read_bytes().split(b"\n")
    last = lines[-2] if not lines[-1] else lines[-1]
    target.write_bytes(target.read_bytes().replace(last, last[:-1] + b"7" if last[-1:] != b"7" else last[:-1] + b"8"))
    changed = read_sesnsp_dir(d, cache=Cache(tmp_path / "cache"))
    assert sorted(changed.reutilizados) == sorted(p.name for p in d.glob("*.csv") if p != target)
    assert changed.huella != first.huella

    # a new code version invalidates everything
    monkeypatch.setattr(memo, "version_codigo", lambda: "otra-version")
    fresh = read_sesnsp_dir(d, cache=Cache(tmp_path / "cache"))
    assert fresh.reutilizados == []


def test_without_a_cache_nothing_is_stored(tmp_path, sample_dir):
    d = _sesnsp_dir(tmp_path, sample_dir)
    result = read_sesnsp_dir(d)
    assert result.huella == "" and result.reutilizados == []
    assert not (tmp_path / "cache").exists()
