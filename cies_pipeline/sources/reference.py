"""Reference data readers: INEGI's AGEEML municipality catalogue and CONAPO's state and municipal population.

This module owns the layouts of those files (domain.md sections 3 and 8), recognised by their header: the
AGEEML catalogue (`CVEGEO, CVE_ENT, NOM_ENT, NOM_ABR, CVE_MUN, NOM_MUN, …`) and CONAPO's
`00_Pob_Mitad_1950_2070.csv` (`RENGLON, AÑO, ENTIDAD, CVE_GEO, EDAD, SEXO, POBLACION`, CVE_GEO 0 = the
whole country). The long extract of the same projections published in isaacarroyov/datos_facil_acceso
(`n_year, nombre_estado, cve_ent, genero, pob_start_year, pob_mid_year`) is read as the same kind, so the
real file under /work/shared/data/real can feed the rates. CONAPO's municipal projections
(`base_municipios_final_datos_01.csv` and `_02.csv`: `RENGLON, CLAVE, CLAVE_ENT, NOM_ENT, MUN, SEXO, AÑO,
EDAD_QUIN, POB`, latin-1, one row per year, municipality, sex and five-year age group) are summed to one
population per year and CVEGEO.
"""
from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from cies_pipeline.memo import memo_key
from cies_pipeline.sources.common import (
    LINEAGE_COLUMNS, SourceFileError, SourceResult, empty_frame, normalize_label, read_cached, sha256_of,
)

REFERENCE_KINDS = ("ageeml", "conapo_estatal", "conapo_municipal")
MUNICIPIOS_COLUMNS = ["cvegeo", "cve_ent", "cve_mun", "nombre", "nom_ent"] + LINEAGE_COLUMNS
POBLACION_DETALLE_COLUMNS = ["anio", "cve_ent", "edad", "sexo", "poblacion"] + LINEAGE_COLUMNS
POBLACION_COLUMNS = ["anio", "cve_ent", "poblacion", "archivo_origen", "archivo_sha256"]
POBLACION_MUNICIPAL_COLUMNS = ["anio", "cvegeo", "cve_ent", "poblacion", "archivo_origen", "archivo_sha256"]
POBLACION_MUNICIPAL_DETALLE_COLUMNS = ["anio", "cvegeo", "sexo", "edad", "poblacion"] + LINEAGE_COLUMNS
# CONAPO's municipal layout, normalised header name -> field
_CONAPO_MUNICIPAL = {"clave": "clave", "clave ent": "clave_ent", "sexo": "sexo", "ano": "anio",
                     "edad quin": "edad", "pob": "poblacion"}

# normalised header name -> canonical field; `None` marks a field a layout does not have
_AGEEML = {"cvegeo": "cvegeo", "cve ent": "cve_ent", "nom ent": "nom_ent", "cve mun": "cve_mun",
           "nom mun": "nombre"}
_AGEEML_REQUIRED = {"cve ent", "cve mun", "nom mun"}
_CONAPO_LAYOUTS = (
    # CONAPO's own file: one row per year, state, single age and sex
    {"ano": "anio", "cve geo": "cve", "edad": "edad", "sexo": "sexo", "poblacion": "poblacion"},
    # the long extract: one row per year, state and sex (and a Total row), all ages together
    {"n year": "anio", "cve ent": "cve", "genero": "sexo", "pob mid year": "poblacion"},
)
_HEAD_BYTES = 1 << 16
_CVE_ENT = np.array([f"{i:02d}" for i in range(33)], dtype=object)     # 0 = the whole country


def _decode(raw: bytes) -> tuple[str, str]:
    """Text and encoding: UTF-8 when there is a BOM or the bytes are valid UTF-8, else windows-1252."""
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(raw) - 3 and len(raw) >= _HEAD_BYTES:    # a head cut inside a character
            return raw[:exc.start].decode("utf-8"), "utf-8"
        return raw.decode("cp1252", errors="replace"), "cp1252"


def _header(path: Path) -> list[str]:
    with open(path, "rb") as f:
        head = f.read(_HEAD_BYTES)
    text, _ = _decode(head)
    first = text.split("\n", 1)[0].rstrip("\r")
    try:
        return [normalize_label(c) for c in next(csv.reader([first]), [])]
    except csv.Error:
        return []


def _conapo_layout(names: list[str]) -> dict[str, str] | None:
    for layout in _CONAPO_LAYOUTS:
        if set(layout) <= set(names):
            return layout
    return None


def detect_reference_kind(path: Path) -> str | None:
    """'ageeml' or 'conapo_estatal' from the file's header, else None."""
    names = _header(Path(path))
    if _AGEEML_REQUIRED <= set(names):
        return "ageeml"
    if _conapo_layout(names):
        return "conapo_estatal"
    if set(_CONAPO_MUNICIPAL) <= set(names):
        return "conapo_municipal"
    return None


def _digits(value: str) -> int | None:
    """An integer code as written ('1', '001', '1001', '1.0' from a spreadsheet export), else None."""
    text = value.strip()
    if text.endswith(".0"):
        text = text[:-2]
    return int(text) if text.isdigit() else None


# -- AGEEML ------------------------------------------------------------------------------------------
def read_ageeml(path: Path, archivo: str) -> SourceResult:
    """INEGI's municipality catalogue into frame 'municipios' (MUNICIPIOS_COLUMNS), codes zero-padded."""
    path = Path(path)
    raw = path.read_bytes()
    sha = sha256_of(path)
    text, encoding = _decode(raw)
    result = SourceResult()
    result.add_file(path, archivo, sha, "ageeml")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None) or []
    names = [normalize_label(c) for c in header]
    if not _AGEEML_REQUIRED <= set(names):
        raise SourceFileError(archivo, "la fila 1 no es el encabezado del catálogo AGEEML; se esperaban las "
                                       "columnas CVEGEO, CVE_ENT, NOM_ENT, CVE_MUN, NOM_MUN")
    pos = {field: names.index(name) for name, field in _AGEEML.items() if name in names}
    label = {field: header[i].strip() for field, i in pos.items()}
    width = max(pos.values()) + 1

    leidas = 0
    good: list[dict] = []
    for fila, cells in enumerate(reader, start=2):      # one record per spreadsheet row
        if not any(c.strip() for c in cells):
            continue
        leidas += 1
        if [normalize_label(c) for c in cells[:len(names)]] == names:
            result.exclude(archivo, None, fila, "encabezado_repetido")
            continue
        if len(cells) < width:
            result.exclude(archivo, None, fila, "fila_rota")
            result.warnings.append(f"{archivo}, fila {fila}: {len(cells)} campos donde se esperaban al menos "
                                   f"{width}; excluida")
            continue
        value = {field: cells[i].strip() for field, i in pos.items()}
        ent = _digits(value["cve_ent"])
        mun = _digits(value["cve_mun"])
        failures = []
        if ent is None or not 1 <= ent <= 32:
            failures.append(("cve_ent", "entidad_desconocida"))
        if mun is None or not 1 <= mun <= 999:
            failures.append(("cve_mun", "municipio_invalido"))
        cvegeo = None if failures else f"{ent:02d}{mun:03d}"
        written = value.get("cvegeo", "")
        if cvegeo and written:
            geo = _digits(written)     # may have lost its zero padding: 1001 is 01001
            if geo != int(cvegeo):
                motivo = "cvegeo_de_otra_entidad" if geo is None or geo // 1000 != ent \
                    else "cvegeo_inconsistente"
                failures.append(("cvegeo", motivo))
        if not value["nombre"]:
            failures.append(("nombre", "municipio_sin_nombre"))
        if failures:
            for field, motivo in failures:
                result.quarantine(archivo, None, fila, label[field], value[field], motivo)
            continue
        good.append({"cvegeo": cvegeo, "cve_ent": f"{ent:02d}", "cve_mun": f"{mun:03d}",
                     "nombre": value["nombre"], "nom_ent": value.get("nom_ent"), "fila_origen": fila,
                     "written": written or cvegeo})
    result.leidas[(archivo, None)] = leidas

    # one code is one municipality: a code on two rows cannot be told apart, both are withheld
    seen: dict[str, list[int]] = {}
    for row in good:
        seen.setdefault(row["cvegeo"], []).append(row["fila_origen"])
    rows = []
    for row in good:
        filas = seen[row["cvegeo"]]
        if len(filas) > 1:
            others = ", ".join(str(f) for f in filas if f != row["fila_origen"])
            result.quarantine(archivo, None, row["fila_origen"], label.get("cvegeo", label["cve_mun"]),
                              f"{row['written']} (también en fila {others})", "clave_duplicada")
            continue
        rows.append(row)
    if encoding == "cp1252":
        result.warnings.append(f"{archivo}: leído como windows-1252 (no es UTF-8)")
    frame = pd.DataFrame.from_records(rows, columns=[c for c in MUNICIPIOS_COLUMNS if c not in
                                                     ("archivo_origen", "archivo_sha256", "hoja")]) \
        if rows else empty_frame(MUNICIPIOS_COLUMNS)
    frame["archivo_origen"] = archivo
    frame["archivo_sha256"] = sha
    frame["hoja"] = pd.Series([None] * len(frame), dtype="object", index=frame.index)
    frame["fila_origen"] = frame["fila_origen"].astype("int64")
    result.frames["municipios"] = frame[MUNICIPIOS_COLUMNS]
    return result


# -- CONAPO ------------------------------------------------------------------------------------------
def _whole_numbers(text: pd.Series, low: int, high: int) -> pd.Series:
    """Integers in [low, high] as float (NaN for anything else: text, decimals, out of range)."""
    number = pd.to_numeric(text, errors="coerce")
    return number.where((number == number.round()) & (number >= low) & (number <= high))


def read_conapo_estatal(path: Path, archivo: str) -> SourceResult:
    """CONAPO state population into 'poblacion_estatal_detalle' (one row per source row, with lineage) and
    'poblacion_estatal' (anio, cve_ent, poblacion summed over age and sex; cve_ent '00' = the country)."""
    path = Path(path)
    raw = path.read_bytes()
    sha = sha256_of(path)
    text, encoding = _decode(raw)
    result = SourceResult()
    result.add_file(path, archivo, sha, "conapo_estatal")
    # every cell as text, blank lines kept as rows: the frame index + 2 is then the spreadsheet row
    # (CONAPO files hold no quoted newlines)
    # object, not str: pandas' python-backed string dtype makes this read 4x slower
    table = pd.read_csv(io.StringIO(text), dtype=object, keep_default_na=False, skip_blank_lines=False)
    header = list(table.columns)
    names = [normalize_label(c) for c in header]
    layout = _conapo_layout(names)
    if layout is None:
        raise SourceFileError(archivo, "la fila 1 no es un encabezado de población de CONAPO; se esperaban "
                                       "RENGLON, AÑO, ENTIDAD, CVE_GEO, EDAD, SEXO, POBLACION")
    col = {field: header[names.index(name)] for name, field in layout.items()}
    table = table.fillna("")
    fila = np.arange(len(table), dtype=np.int64) + 2
    # str.strip costs a second per column on 900,000 rows: numbers are read as written (to_numeric
    # ignores surrounding spaces) and only the text fields are stripped
    raw = {field: table[c] for field, c in col.items()}
    text = {field: raw[field].str.strip() for field in ("sexo", "edad") if field in raw}
    blank = np.logical_and.reduce([table[c].to_numpy() == "" for c in header])
    result.leidas[(archivo, None)] = int((~blank).sum())

    anio = _whole_numbers(raw["anio"], 1000, 9999)
    cve = _whole_numbers(raw["cve"], 0, 32)
    pob = pd.to_numeric(raw["poblacion"], errors="coerce")
    retry = pob.isna().to_numpy() & (raw["poblacion"].to_numpy() != "")
    if retry.any():     # thousands separators: the few cells to_numeric could not read
        pob[retry] = pd.to_numeric(raw["poblacion"][retry].str.strip().str.replace(",", "", regex=False)
                                   .where(lambda t: t.str.fullmatch(r"-?\d+(?:\.\d*)?")), errors="coerce")

    not_year = anio.isna().to_numpy() & ~blank
    repeated = np.zeros(len(table), dtype=bool)
    repeated[not_year] = (raw["anio"][not_year].map(normalize_label) == normalize_label(col["anio"])) \
        .to_numpy(dtype=bool)
    total = text["sexo"].isin(["Total", "TOTAL", "total"]).to_numpy(dtype=bool) & ~blank & ~repeated
    for f in fila[repeated]:
        result.exclude(archivo, None, int(f), "encabezado_repetido")
    # the extract carries a Total row per year and state beside Hombres and Mujeres: summing it would
    # count everyone twice
    for f in fila[total]:
        result.exclude(archivo, None, int(f), "total")
    candidate = ~blank & ~repeated & ~total

    checks = [
        ("anio", anio.isna().to_numpy(), "periodo_invalido"),
        ("cve", cve.isna().to_numpy(), "entidad_desconocida"),
        ("poblacion", pob.isna().to_numpy(), "conteo_no_numerico"),
        ("poblacion", (pob < 0).fillna(False).to_numpy(dtype=bool), "conteo_negativo"),
    ]
    failed = np.zeros(len(table), dtype=bool)
    for field, bad, motivo in checks:
        bad = bad & candidate
        for i in np.flatnonzero(bad):
            result.quarantine(archivo, None, int(fila[i]), col[field], str(raw[field].iloc[i]).strip(),
                              motivo)
        failed |= bad
    ok = candidate & ~failed

    detail = pd.DataFrame({
        "anio": anio[ok].astype("int64").to_numpy(),
        "cve_ent": _CVE_ENT[cve[ok].astype("int64").to_numpy()],
        "edad": text["edad"][ok].to_numpy() if "edad" in text else np.full(int(ok.sum()), None, dtype=object),
        "sexo": text["sexo"][ok].to_numpy(),
        "poblacion": pob[ok].round().astype("int64").to_numpy(),
        "fila_origen": fila[ok],
    })
    if (pob[ok] != pob[ok].round()).any():
        result.warnings.append(f"{archivo}: POBLACION con decimales; se redondea al entero")

    # one (year, state, age, sex) is one figure: a repeated key would be summed twice, so both are withheld
    key = ["anio", "cve_ent", "edad", "sexo"]
    dup = detail.duplicated(key, keep=False).to_numpy()
    for row in detail[dup].itertuples(index=False):
        result.quarantine(archivo, None, row.fila_origen, col["sexo"],
                          f"{row.anio} | {row.cve_ent} | {row.edad} | {row.sexo}", "clave_duplicada")
    detail = detail[~dup].reset_index(drop=True)
    detail["archivo_origen"] = archivo
    detail["archivo_sha256"] = sha
    detail["hoja"] = pd.Series([None] * len(detail), dtype="object")
    result.frames["poblacion_estatal_detalle"] = detail[POBLACION_DETALLE_COLUMNS]

    total_frame = detail.groupby(["anio", "cve_ent"], as_index=False, sort=True)["poblacion"].sum()
    total_frame["poblacion"] = total_frame["poblacion"].astype("int64")
    total_frame["archivo_origen"] = archivo
    total_frame["archivo_sha256"] = sha
    result.frames["poblacion_estatal"] = total_frame[POBLACION_COLUMNS]
    if encoding == "cp1252":
        result.warnings.append(f"{archivo}: leído como windows-1252 (no es UTF-8)")
    return result


def read_conapo_municipal(path: Path, archivo: str) -> SourceResult:
    """CONAPO municipal projections into 'poblacion_municipal' (POBLACION_MUNICIPAL_COLUMNS: one row per year
    and CVEGEO, summed over sex and age group). A CLAVE that is not a CVEGEO of CLAVE_ENT, a year or a
    population that is not a whole number, and a repeated (year, CLAVE, sex, age group) are quarantined."""
    path = Path(path)
    sha = sha256_of(path)
    text, encoding = _decode(path.read_bytes())
    result = SourceResult()
    result.add_file(path, archivo, sha, "conapo_municipal")
    table = pd.read_csv(io.StringIO(text), dtype=object, keep_default_na=False, skip_blank_lines=False)
    header = list(table.columns)
    names = [normalize_label(c) for c in header]
    if not set(_CONAPO_MUNICIPAL) <= set(names):
        raise SourceFileError(archivo, "la fila 1 no es un encabezado de población municipal de CONAPO; se "
                                       "esperaban RENGLON, CLAVE, CLAVE_ENT, NOM_ENT, MUN, SEXO, AÑO, EDAD_QUIN, POB")
    col = {field: header[names.index(name)] for name, field in _CONAPO_MUNICIPAL.items()}
    table = table.fillna("")
    fila = np.arange(len(table), dtype=np.int64) + 2
    raw = {field: table[c] for field, c in col.items()}
    blank = np.logical_and.reduce([table[c].to_numpy() == "" for c in header])
    repeated = ~blank & (raw["anio"].map(normalize_label) == normalize_label(col["anio"])).to_numpy(dtype=bool)
    for f in fila[repeated]:
        result.exclude(archivo, None, int(f), "encabezado_repetido")
    result.leidas[(archivo, None)] = int((~blank).sum())
    candidate = ~blank & ~repeated

    anio = _whole_numbers(raw["anio"], 1000, 9999)
    clave = _whole_numbers(raw["clave"], 1001, 32999)
    ent = _whole_numbers(raw["clave_ent"], 1, 32)
    pob = _whole_numbers(raw["poblacion"], 0, 10**9)
    checks = [
        ("anio", anio.isna().to_numpy(), "periodo_invalido"),
        ("clave_ent", ent.isna().to_numpy(), "entidad_desconocida"),
        ("clave", clave.isna().to_numpy(), "municipio_invalido"),
        ("clave", (clave // 1000 != ent).fillna(False).to_numpy(dtype=bool) & clave.notna().to_numpy()
         & ent.notna().to_numpy(), "cvegeo_de_otra_entidad"),
        ("poblacion", pob.isna().to_numpy(), "conteo_no_numerico"),
    ]
    failed = np.zeros(len(table), dtype=bool)
    for field, bad, motivo in checks:
        bad = bad & candidate & ~failed      # one reason per row is enough to withhold it
        for i in np.flatnonzero(bad):
            result.quarantine(archivo, None, int(fila[i]), col[field], str(raw[field].iloc[i]).strip(), motivo)
        failed |= bad
    ok = candidate & ~failed
    detail = pd.DataFrame({
        "anio": anio[ok].astype("int64").to_numpy(),
        "cvegeo": np.char.zfill(clave[ok].astype("int64").to_numpy().astype(str), 5).astype(object),
        "sexo": raw["sexo"][ok].str.strip().to_numpy(),
        "edad": raw["edad"][ok].str.strip().to_numpy(),
        "poblacion": pob[ok].astype("int64").to_numpy(),
        "fila_origen": fila[ok],
    })
    dup = detail.duplicated(["anio", "cvegeo", "sexo", "edad"], keep=False).to_numpy()
    for row in detail[dup].itertuples(index=False):
        result.quarantine(archivo, None, row.fila_origen, col["clave"],
                          f"{row.anio} | {row.cvegeo} | {row.sexo} | {row.edad}", "clave_duplicada")
    detail = detail[~dup].reset_index(drop=True)
    # the rows as read (with their lineage): what row accounting counts as loaded
    detail["archivo_origen"] = archivo
    detail["archivo_sha256"] = sha
    detail["hoja"] = pd.Series([None] * len(detail), dtype="object")
    result.frames["poblacion_municipal_detalle"] = detail[POBLACION_MUNICIPAL_DETALLE_COLUMNS]
    total = detail.groupby(["anio", "cvegeo"], as_index=False, sort=True)["poblacion"].sum()
    total["poblacion"] = total["poblacion"].astype("int64")
    total["cve_ent"] = total["cvegeo"].str.slice(0, 2)
    total["archivo_origen"] = archivo
    total["archivo_sha256"] = sha
    result.frames["poblacion_municipal"] = total[POBLACION_MUNICIPAL_COLUMNS]
    if encoding == "cp1252":
        result.warnings.append(f"{archivo}: leído como windows-1252/latin-1 (no es UTF-8)")
    return result


_READERS = {"ageeml": read_ageeml, "conapo_estatal": read_conapo_estatal, "conapo_municipal": read_conapo_municipal}


def read_reference_dir(directory: Path, cache=None) -> SourceResult:
    """Every AGEEML or CONAPO (state or municipal) csv under `directory`, recognised by header (others
    ignored with a warning, unreadable ones rejected). `archivo_origen` is the path relative to `directory`,
    posix. 'poblacion_municipal' is always present (empty when no municipal file was given)."""
    directory = Path(directory)
    result = SourceResult(frames={"poblacion_municipal": empty_frame(POBLACION_MUNICIPAL_COLUMNS)})
    keys: list[str] = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() == ".csv"):
        archivo = path.relative_to(directory).as_posix()
        kind = detect_reference_kind(path)
        if kind is None:
            result.warnings.append(f"{archivo}: no es un archivo de referencia conocido (AGEEML, CONAPO); "
                                   f"se ignora")
            keys.append(f"ignorado:{archivo}")
            continue
        try:
            one, key = read_cached(cache, f"referencia/{archivo}", path, archivo, (kind,),
                                   lambda: _READERS[kind](path, archivo))
            keys.append(key)
            result.extend(one)
        except SourceFileError as exc:
            result.reject(archivo, None, exc.motivo)
            keys.append(f"rechazado:{archivo}")
    if cache is not None:
        result.huella = memo_key("referencia", keys)
        cache.save()
    return result
