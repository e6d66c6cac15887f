"""memo.py: file hashes remembered by stat, stored results by key, and what invalidates them."""
from __future__ import annotations

import hashlib
import os
import pickle
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


def test_a_stored_result_is_replaced_whole_or_not_at_all(tmp_path):
    """A result is pickled straight into a temporary file renamed over the stored one: a value that fails to
    pickle half way (a lambda after a large frame) leaves the stored result as it was, and no temporary file."""
    m = Memo(tmp_path)
    frame = pd.DataFrame({"cvegeo": pd.Categorical(["09002", "14039"] * 50_000), "carpetas": range(100_000)})
    m.put("x", "k1", {"frame": frame})
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        m.put("x", "k2", {"frame": frame, "no_se_guarda": lambda: 1})
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["k1.pkl"]
    stored = m.get("x", "k1")["frame"]
    assert stored["carpetas"].sum() == 100_000 * 99_999 // 2
    assert stored["cvegeo"].value_counts().to_dict() == {"09002": 50_000, "14039": 50_000}


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


def test_table_fingerprint_sees_every_change_in_each_kind_of_column():
    """Categoricals (categories and codes), nullable numbers (values and missing), dates, text and flags:
    a change of one value, of a missing value, of a label or of a column name gives another fingerprint."""
    base = pd.DataFrame({
        "cat": pd.Categorical(["01", "02", "01", None], categories=["01", "02"]),
        "n": pd.array([1, None, 3, 0], dtype="Int64"),
        "f": pd.array([0.5, None, 1.0, 2.0], dtype="Float64"),
        "b": pd.array([True, None, False, True], dtype="boolean"),
        "d": pd.to_datetime(["2025-01-01", None, "2025-03-01", "2025-04-01"]),
        "t": ["a", None, "c", "d"],
        "i": [1, 2, 3, 4],
    })
    same = base.copy()
    assert table_fingerprint(base) == table_fingerprint(same) != ""
    changed = {
        "a code": base.assign(cat=pd.Categorical(["02", "02", "01", None], categories=["01", "02"])),
        "a missing label": base.assign(cat=pd.Categorical(["01", "02", "01", "02"], categories=["01", "02"])),
        "a label renamed": base.assign(cat=pd.Categorical(["01", "03", "01", None], categories=["01", "03"])),
        "a missing number": base.assign(n=pd.array([1, 0, 3, 0], dtype="Int64")),
        "a number": base.assign(n=pd.array([1, None, 4, 0], dtype="Int64")),
        "a missing float": base.assign(f=pd.array([0.5, 0.0, 1.0, 2.0], dtype="Float64")),
        "a missing flag": base.assign(b=pd.array([True, False, False, True], dtype="boolean")),
        "a date": base.assign(d=pd.to_datetime(["2025-01-01", None, "2025-03-02", "2025-04-01"])),
        "a missing date": base.assign(d=pd.to_datetime(["2025-01-01", "1970-01-01", "2025-03-01", "2025-04-01"])),
        "a text": base.assign(t=["a", None, "C", "d"]),
        "a missing text": base.assign(t=["a", "", "c", "d"]),
        "an integer": base.assign(i=[1, 2, 3, 5]),
        "a column name": base.rename(columns={"i": "j"}),
        "a row fewer": base.iloc[:3],
    }
    prints = {why: table_fingerprint(frame) for why, frame in changed.items()}
    assert all(p and p != table_fingerprint(base) for p in prints.values()), prints
    assert len(set(prints.values())) == len(prints)


@pytest.mark.parametrize("rows", [4, 5000])     # pickled values (a small table) and pandas' hash (a larger one)
def test_text_columns_small_and_large_see_every_change(rows, monkeypatch):
    import cies_pipeline.memo as memo
    hashed = []
    original = pd.util.hash_pandas_object
    monkeypatch.setattr(pd.util, "hash_pandas_object", lambda s, **kw: hashed.append(len(s)) or original(s, **kw))
    labels = ["a", None, "c", "d"] * (rows // 4)
    base = pd.DataFrame({"t": labels, "s": pd.Series(labels, dtype="str")})
    assert table_fingerprint(base) == table_fingerprint(base.copy()) != ""
    assert hashed == ([] if rows <= memo._SMALL else [rows, rows] * 2)
    for column in ("t", "s"):
        for changed in (["a", "b", "c", "d"], ["a", None, "c", "D"], ["a", None, "d", "c"], ["a", "None", "c", "d"]):
            other = base.copy()
            other[column] = pd.Series(changed * (rows // 4), dtype=base[column].dtype)
            assert table_fingerprint(other) not in ("", table_fingerprint(base)), (column, changed)
    # a value that is not text, or pd.NA, goes to pandas' hash whatever the length
    hashed.clear()
    assert table_fingerprint(pd.DataFrame({"x": ["a", 1]})) != table_fingerprint(pd.DataFrame({"x": ["a", 2]}))
    assert table_fingerprint(pd.DataFrame({"x": pd.array(["a", None], dtype="string")})) != ""
    assert hashed == [2, 2, 2]


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


def _count_hashing(monkeypatch) -> list[str]:
    """The names of the files FileHashes hashes from now on (not those whose sha256 it already knows)."""
    hashed = []
    real = FileHashes.sha256

    def sha256(self, path):
        if self.known(path) is None:
            hashed.append(path.name)
        return real(self, path)

    monkeypatch.setattr(FileHashes, "sha256", sha256)
    return hashed


def test_changed_inputs_hashes_only_rewritten_files_of_the_same_size(tmp_path, monkeypatch):
    folder = tmp_path / "sesnsp"
    folder.mkdir()
    for name, text in (("a.csv", b"uno\n"), ("b.csv", b"dos\n"), ("c.csv", b"tres\n")):
        (folder / name).write_bytes(text)
    hashes = FileHashes(tmp_path / "cache")
    hashed = _count_hashing(monkeypatch)
    files = memo.input_files([folder, tmp_path / "no_existe"])
    assert [name for name, _ in files] == ["sesnsp/a.csv", "sesnsp/b.csv", "sesnsp/c.csv"]
    # the first record knows no sha256 (nothing was hashed)
    record = memo.inputs_record(files, hashes)
    assert [v[3] for v in record.values()] == [None, None, None] and hashed == []
    assert memo.changed_inputs(files, record, hashes) == []             # same stamps: nothing hashed
    assert hashed == []

    st = (folder / "a.csv").stat()
    (folder / "a.csv").write_bytes(b"uno\n")                             # same bytes, later mtime
    os.utime(folder / "a.csv", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000))
    (folder / "b.csv").write_bytes(b"DOS\n")                             # same size, other bytes
    os.utime(folder / "b.csv", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000))
    (folder / "c.csv").write_bytes(b"tres y cuatro\n")                   # another size: changed, not hashed
    (folder / "d.csv").write_bytes(b"nuevo\n")                           # new: changed, not hashed
    # the first versions of a and b were hashed by their readers after the record was written
    files_before = {name: path for name, path in files}
    for name in ("sesnsp/a.csv", "sesnsp/b.csv"):
        text = {"sesnsp/a.csv": b"uno\n", "sesnsp/b.csv": b"dos\n"}[name]
        hashes.remember(files_before[name], record[name][:3], hashlib.sha256(text).hexdigest())
    files = memo.input_files([folder])
    assert memo.changed_inputs(files, record, hashes) == ["sesnsp/b.csv", "sesnsp/c.csv", "sesnsp/d.csv"]
    assert sorted(hashed) == ["a.csv", "b.csv"]

    # a rewritten file whose recorded version nobody hashed cannot be compared: changed
    hashed.clear()
    record = memo.inputs_record(files, hashes)
    assert record["sesnsp/a.csv"][3] == hashlib.sha256(b"uno\n").hexdigest() and record["sesnsp/c.csv"][3] is None
    (folder / "d.csv").unlink()
    st = (folder / "c.csv").stat()
    os.utime(folder / "c.csv", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000))
    assert memo.changed_inputs(memo.input_files([folder]), record, hashes) == ["sesnsp/c.csv", "sesnsp/d.csv"]


def test_a_new_sesnsp_file_is_parsed_while_hashed_and_its_sha256_remembered(tmp_path, sample_dir, monkeypatch):
    d = _sesnsp_dir(tmp_path, sample_dir)
    cache = Cache(tmp_path / "cache")
    hashed = _count_hashing(monkeypatch)
    first = read_sesnsp_dir(d, cache=cache)
    assert hashed == []    # each reader hashed the bytes it parsed
    for path in d.glob("*.csv"):
        assert cache.hashes.known(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert set(first.table("archivos")["archivo_sha256"]) == {
        hashlib.sha256(p.read_bytes()).hexdigest() for p in d.glob("*.csv")}
    # a copy of a file under a new stamp is parsed again, but the result stored for its content is returned
    target = d / "IDEFC_NM_dic25.csv"
    shutil.copy(target, tmp_path / "copia.csv")
    target.unlink()
    shutil.copy(tmp_path / "copia.csv", target)
    again = read_sesnsp_dir(d, cache=Cache(tmp_path / "cache"))
    assert sorted(again.reutilizados) == sorted(p.name for p in d.glob("*.csv"))
    for kind, frame in first.frames.items():
        pd.testing.assert_frame_equal(again.frames[kind], frame)
