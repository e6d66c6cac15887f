"""Victim categories: forms of exploitation, sex, age group and nationality, and how labels reach them.

Each classifier takes the raw labels of one column and returns, row by row, the canonical value and the
rule (`regla`) that decided it. The labels themselves live in crosswalk CSVs under `crosswalks/`
(formas_explotacion, formas_explotacion_alias, sexo, grupos_edad, nacionalidad, paises) so an analyst
extends them without touching code; what stays here are the rules (domain.md sections 3 and 10). A label
no rule knows gets regla 'sin_mapeo' and the category's "unknown" value, so its rows still load and the
label can be listed for review.

Labels are classified once per distinct value: a 300,000-row column has a few dozen distinct labels.
"""
from __future__ import annotations

import re
from functools import lru_cache

import pandas as pd

from cies_pipeline.harmonize.crosswalks import crosswalk_version, load_crosswalk
from cies_pipeline.sources.common import normalize_label, strip_accents

SIN_MAPEO = "sin_mapeo"
VACIO = "vacio"

NO_ESPECIFICADA = "NO_ESPECIFICADA"
SIN_CLASIFICAR = "SIN_CLASIFICAR"
MUJER, HOMBRE, SEXO_NI = "Mujer", "Hombre", "No identificado"
MENORES, ADULTOS, EDAD_NE = "Menores de edad (0-17)", "Adultos (18 y más)", "No especificado"
MEXICANA, EXTRANJERA, NACIONALIDAD_NE = "Mexicana", "Extranjera", "No especificada"
MEXICO = "México"

CATEGORY_CROSSWALKS = ["formas_explotacion", "formas_explotacion_alias", "sexo", "grupos_edad",
                       "nacionalidad", "paises"]


def _is_blank(value: object) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value)) or str(value).strip() == ""


def _per_label(labels: pd.Series, classify_one, columns: list[str]) -> pd.DataFrame:
    """Apply `classify_one(label) -> tuple` once per distinct label; rows keep the input's index."""
    labels = pd.Series(labels, dtype="object")
    codes, uniques = pd.factorize(labels, use_na_sentinel=True)
    results = [classify_one(u) for u in uniques]
    blank = classify_one(None)
    table = pd.DataFrame.from_records(results + [blank], columns=columns)
    # code -1 (missing) picks the appended blank row
    picked = table.iloc[[c if c >= 0 else len(results) for c in codes]]
    picked.index = labels.index
    return picked.astype(object).where(picked.notna(), None)


# -- forms of exploitation ------------------------------------------------------------------------
def dim_forma_explotacion() -> pd.DataFrame:
    """codigo, fraccion_art10 (None where art. 10 has none), nombre, categoria_unodc."""
    frame = load_crosswalk("formas_explotacion")[["codigo", "fraccion_art10", "nombre", "categoria_unodc"]]
    return frame.replace({"fraccion_art10": {"": None}})


@lru_cache(maxsize=4)
def _forma_index(_version: str) -> tuple[dict[str, str], list[tuple[tuple[str, ...], str]]]:
    exact: dict[str, str] = {}
    for row in load_crosswalk("formas_explotacion").itertuples(index=False):
        for label in (row.codigo, row.codigo.replace("_", " "), row.nombre):
            exact[normalize_label(label)] = row.codigo
    keywords: list[tuple[tuple[str, ...], str]] = []
    for row in load_crosswalk("formas_explotacion_alias").itertuples(index=False):
        if row.tipo == "palabra_clave":
            keywords.append((tuple(normalize_label(row.etiqueta).split()), row.codigo))
        else:
            exact[normalize_label(row.etiqueta)] = row.codigo
    return exact, keywords


def _contains_words(words: list[str], keyword: tuple[str, ...]) -> bool:
    """The keyword's words appear consecutively, each word written in full or as the start of a longer
    one ('sexual' in 'fines sexuales', 'trabajo forzado' in 'trabajos forzados')."""
    n = len(keyword)
    return any(all(words[i + k].startswith(keyword[k]) for k in range(n))
               for i in range(len(words) - n + 1))


def _classify_forma_one(label: object) -> tuple[str, str]:
    if _is_blank(label):
        return NO_ESPECIFICADA, VACIO
    exact, keywords = _forma_index(crosswalk_version("formas_explotacion_alias")
                                   + crosswalk_version("formas_explotacion"))
    key = normalize_label(label)
    if key in exact:
        return exact[key], "exacta"
    words = key.split()
    matched = {codigo for keyword, codigo in keywords if _contains_words(words, keyword)}
    if len(matched) == 1:
        return matched.pop(), "palabra_clave"
    # none, or keywords of two different forms ('sexual y laboral'): never guess
    return SIN_CLASIFICAR, SIN_MAPEO


def classify_forma(labels: pd.Series) -> pd.DataFrame:
    """forma_explotacion (a dim_forma_explotacion code), regla: vacio, exacta, palabra_clave, sin_mapeo."""
    return _per_label(labels, _classify_forma_one, ["forma_explotacion", "regla"])


# -- sex ------------------------------------------------------------------------------------------
@lru_cache(maxsize=4)
def _sexo_index(_version: str) -> dict[str, str]:
    return {normalize_label(r.etiqueta): r.sexo for r in load_crosswalk("sexo").itertuples(index=False)}


_LETTERS = {"f", "m", "h"}


def classify_sexo(labels: pd.Series) -> pd.DataFrame:
    """sexo (Mujer, Hombre, No identificado), regla, for the labels of ONE column (one file and sheet).

    Single letters are read against the letters present in the same column: F with M means F = Mujer,
    M = Hombre ('codigo_FM'); H with M means M = Mujer, H = Hombre ('codigo_MH'). M alone, or F, H and M
    together, cannot be read: M rows are No identificado with 'sin_mapeo'. F and H never change meaning,
    so alone (or F with H) they are read directly ('codigo').
    """
    index = _sexo_index(crosswalk_version("sexo"))
    present = {normalize_label(v) for v in pd.Series(labels, dtype="object").dropna().unique()}
    letters = present & _LETTERS
    if letters == {"f", "m"}:
        letter_map = {"f": (MUJER, "codigo_FM"), "m": (HOMBRE, "codigo_FM")}
    elif letters == {"h", "m"}:
        letter_map = {"m": (MUJER, "codigo_MH"), "h": (HOMBRE, "codigo_MH")}
    else:
        letter_map = {"f": (MUJER, "codigo"), "h": (HOMBRE, "codigo"), "m": (SEXO_NI, SIN_MAPEO)}

    def one(label: object) -> tuple[str, str]:
        if _is_blank(label):
            return SEXO_NI, VACIO
        key = normalize_label(label)
        if key in letter_map:
            return letter_map[key]
        if key in index:
            return index[key], "exacta"
        return SEXO_NI, SIN_MAPEO

    return _per_label(labels, one, ["sexo", "regla"])


# -- age group ------------------------------------------------------------------------------------
@lru_cache(maxsize=4)
def _edad_index(_version: str) -> tuple[dict[str, tuple[str, str | None]], list[tuple[int, int, str, str]]]:
    exact: dict[str, tuple[str, str | None]] = {}
    ranges: list[tuple[int, int, str, str]] = []
    for r in load_crosswalk("grupos_edad").itertuples(index=False):
        exact[normalize_label(r.etiqueta)] = (r.grupo_edad, r.grupo_edad_detalle or None)
        if r.edad_desde and r.edad_hasta:
            ranges.append((int(r.edad_desde), int(r.edad_hasta), r.grupo_edad, r.grupo_edad_detalle))
    return exact, ranges


# An age written as a number ('15', '15.0' from a spreadsheet, '15 años'); checked on the raw text
# because normalising would turn '18+' into '18'.
_AGE = re.compile(r"^(\d{1,3})(?:\.0+)?(?:\s*anos?)?$")


def _classify_edad_one(label: object) -> tuple[str, str | None, str]:
    if _is_blank(label):
        return EDAD_NE, None, VACIO
    exact, ranges = _edad_index(crosswalk_version("grupos_edad"))
    raw = strip_accents(str(label).strip().lower().replace("ñ", "n"))
    number = _AGE.match(raw)
    if number:
        age = int(number.group(1))
        for desde, hasta, grupo, detalle in ranges:
            if desde <= age <= hasta:
                return grupo, detalle, "edad_numerica"
        return EDAD_NE, None, SIN_MAPEO
    key = normalize_label(label)
    if key in exact:
        grupo, detalle = exact[key]
        return grupo, detalle, "exacta"
    return EDAD_NE, None, SIN_MAPEO


def classify_grupo_edad(labels: pd.Series) -> pd.DataFrame:
    """grupo_edad (Menores de edad (0-17), Adultos (18 y más), No especificado), grupo_edad_detalle, regla.

    grupo_edad_detalle is the finer RNID-2026 range when the source has one: the 2026 range labels
    themselves, and integer ages (placed in the range that holds them, from grupos_edad.csv). Coarse
    labels ('NNA', 'Adultos (18 y más)') have no detalle. Rules: vacio, edad_numerica, exacta, sin_mapeo.
    """
    return _per_label(labels, _classify_edad_one, ["grupo_edad", "grupo_edad_detalle", "regla"])


# -- nationality ----------------------------------------------------------------------------------
@lru_cache(maxsize=4)
def _nacionalidad_index(_version: str) -> tuple[dict[str, str], dict[str, str]]:
    nacionalidad = {normalize_label(r.etiqueta): r.nacionalidad
                    for r in load_crosswalk("nacionalidad").itertuples(index=False)}
    paises = {normalize_label(r.etiqueta): r.pais for r in load_crosswalk("paises").itertuples(index=False)}
    return nacionalidad, paises


def _pais_result(pais: str) -> tuple[str, str, str]:
    return (MEXICANA if pais == MEXICO else EXTRANJERA), pais, "pais"


def _classify_nacionalidad_one(label: object) -> tuple[str, str | None, str]:
    if _is_blank(label):
        return NACIONALIDAD_NE, None, VACIO
    nacionalidad, paises = _nacionalidad_index(crosswalk_version("nacionalidad")
                                               + crosswalk_version("paises"))
    key = normalize_label(label)
    if key in nacionalidad:
        value = nacionalidad[key]
        return value, (MEXICO if value == MEXICANA else None), "exacta"
    for candidate in (key, key[:-1] if key.endswith("s") else None):  # plurals: 'guatemaltecas'
        if candidate and candidate in paises:
            return _pais_result(paises[candidate])
    # 'Extranjera (Guatemala)', 'hondureña migrante': exactly one country named inside the label
    padded = f" {key} "
    found = {pais for etiqueta, pais in paises.items() if f" {etiqueta} " in padded}
    if len(found) == 1:
        return _pais_result(found.pop())
    return NACIONALIDAD_NE, None, SIN_MAPEO


def classify_nacionalidad(labels: pd.Series) -> pd.DataFrame:
    """nacionalidad (Mexicana, Extranjera, No especificada), pais (México for Mexicana, the country when
    the label names one, else None), regla: vacio, exacta, pais, sin_mapeo."""
    return _per_label(labels, _classify_nacionalidad_one, ["nacionalidad", "pais", "regla"])


def crosswalk_versions_used() -> dict[str, str]:
    """Version of every crosswalk that harmonization reads (categories, states, municipal abbreviations)."""
    names = CATEGORY_CROSSWALKS + ["abreviaturas", "entidades", "entidades_alias"]
    return {name: crosswalk_version(name) for name in names}
