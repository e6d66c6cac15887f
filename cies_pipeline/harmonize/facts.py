"""From staged frames to warehouse-shaped facts: categories and municipalities applied, rules recorded.

One staged row gives one fact row, with its lineage, so any figure can be followed back to its cell.
`nivel` says which grain a row belongs to: every CIE row and every SESNSP municipal-file row (carpetas, and
victims from 2026) is 'municipal' (a CIE blank municipality is the state's EE998); SESNSP state-file rows
are 'estatal' with no cvegeo. An analyst sums one nivel per fuente and never counts SESNSP twice. Labels no crosswalk knows
still load (SIN_CLASIFICAR, EE998, No identificado, No especificado, No especificada) and are listed in
`Harmonized.sin_mapeo` for `quality.etiquetas_sin_mapeo`. Every row records the rule per dimension
(`municipio_regla` / `reglas`) and the version of each crosswalk that classified it
(`versiones_crosswalk`, 'formas_explotacion@<sha12>;…'), so a reclassification after an analyst's edit
is visible row by row.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cies_pipeline.harmonize.categories import (NACIONALIDAD_NE, NO_ESPECIFICADA, SIN_MAPEO,
                                                classify_forma, classify_grupo_edad,
                                                classify_nacionalidad, classify_sexo,
                                                crosswalk_versions_used)
from cies_pipeline.harmonize.crosswalks import versions_text
from cies_pipeline.sources.common import all_missing, concat_keeping_categories, normalize_label
from cies_pipeline.harmonize.municipalities import resolve_municipios

__all__ = ["FACT_CARPETAS_COLUMNS", "FACT_VICTIMAS_COLUMNS", "SIN_MAPEO_COLUMNS", "Harmonized",
           "harmonize_cie_carpetas", "harmonize_cie_victimas", "harmonize_sesnsp_carpetas",
           "harmonize_sesnsp_victimas", "crosswalk_versions_used", "metodologia_de_periodo"]

FACT_CARPETAS_COLUMNS = ["periodo", "cve_ent", "cvegeo", "nivel", "fuente", "metodologia", "carpetas",
                         "municipio_regla", "versiones_crosswalk", "archivo_origen", "archivo_sha256", "hoja", "fila_origen",
                         "corte"]
FACT_VICTIMAS_COLUMNS = ["periodo", "cve_ent", "cvegeo", "nivel", "fuente", "metodologia",
                         "forma_explotacion", "sexo", "grupo_edad", "grupo_edad_detalle", "nacionalidad",
                         "pais", "victimas", "reglas", "versiones_crosswalk", "archivo_origen", "archivo_sha256", "hoja",
                         "fila_origen", "corte"]
SIN_MAPEO_COLUMNS = ["archivo_origen", "columna", "etiqueta", "filas"]

RNID_DESDE = pd.Timestamp("2026-01-01")
# Rules that mean "no crosswalk knows this label": the row loads, the label goes to review.
_REVIEW_RULES = {SIN_MAPEO, "sin_resolver", "ambigua"}
# SESNSP 2015-2025 publishes trata without form or nationality: not a label, the source has no breakdown.
SIN_DESGLOSE = "sin_desglose"
# The crosswalks each kind of row goes through (the state is resolved by the CIE reader; municipality
# names through abreviaturas; SESNSP rows come with codes).
CIE_CARPETAS_CROSSWALKS = ("entidades", "entidades_alias", "abreviaturas")
CIE_VICTIMAS_CROSSWALKS = CIE_CARPETAS_CROSSWALKS + ("formas_explotacion", "formas_explotacion_alias", "sexo",
                                                     "grupos_edad", "nacionalidad", "paises")
SESNSP_VICTIMAS_CROSSWALKS = ("formas_explotacion", "formas_explotacion_alias", "sexo", "grupos_edad")
_TRATA = "trata de personas"


@dataclass
class Harmonized:
    frame: pd.DataFrame
    sin_mapeo: pd.DataFrame   # archivo_origen, columna, etiqueta, filas
    huella: str = ""          # fingerprint of what it was computed from (memo.py); "" when unknown


def metodologia_de_periodo(periodo: pd.Series) -> pd.Series:
    """'RNID-2026' from January 2026 on, else 'CNSP-38-15' (CIE rows take it from their period)."""
    periodo = pd.to_datetime(pd.Series(periodo))
    return pd.Series(np.where(periodo >= RNID_DESDE, "RNID-2026", "CNSP-38-15"), index=periodo.index,
                     dtype=object)


# Fact columns whose few values repeat over hundreds of thousands of rows (the municipal SESNSP file): kept
# as categoricals, they validate, pickle and load several times faster than Python-object text.
FACT_CATEGORICAL = ("cve_ent", "cvegeo", "nivel", "fuente", "metodologia", "municipio_regla", "forma_explotacion",
                    "sexo", "grupo_edad", "grupo_edad_detalle", "nacionalidad", "reglas", "versiones_crosswalk",
                    "archivo_origen", "archivo_sha256", "hoja")


def concat_facts(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """pd.concat of fact parts, FACT_CATEGORICAL columns kept categorical with sorted categories (what
    astype("category") of the concatenation gives), without a Python string per row in between."""
    return concat_keeping_categories(frames, FACT_CATEGORICAL, sort=True)


def _object(series: pd.Series) -> pd.Series:
    """Text column with None (not NaN) for missing values. A categorical column (the SESNSP frames' labels)
    stays categorical: the fact keeps those columns categorical anyway (FACT_CATEGORICAL), and
    turning 300,000 labels into Python strings only to factorize them again is most of the merge's time."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series
    series = series.astype(object)
    return series.where(series.notna(), None)


def _missing(index: pd.Index) -> pd.Series:
    """Missing in every row, as a categorical without categories (sources.common.all_missing)."""
    return pd.Series(all_missing(len(index)), index=index)


def _constant(value: str, index: pd.Index) -> pd.Series:
    """One label for every row, as a one-category categorical (no per-row Python string)."""
    return pd.Series(pd.Categorical.from_codes(np.zeros(len(index), dtype=np.int8), categories=[value]),
                     index=index)


def _sin_mapeo(archivo: pd.Series, columna: str, etiqueta: pd.Series, regla: pd.Series) -> pd.DataFrame:
    review = regla.isin(_REVIEW_RULES)
    records = pd.DataFrame({"archivo_origen": archivo[review].to_numpy(), "columna": columna,
                            "etiqueta": etiqueta[review].map(str).to_numpy()})
    return records.groupby(["archivo_origen", "columna", "etiqueta"], as_index=False).size() \
        .rename(columns={"size": "filas"})


def _collect(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({"archivo_origen": pd.Series(dtype=object), "columna": pd.Series(dtype=object),
                             "etiqueta": pd.Series(dtype=object), "filas": pd.Series(dtype="int64")})
    out = pd.concat(parts, ignore_index=True)
    out["filas"] = out["filas"].astype("int64")
    return out.sort_values(["archivo_origen", "columna", "etiqueta"], ignore_index=True)[SIN_MAPEO_COLUMNS]


def _lineage(staged: pd.DataFrame, out: pd.DataFrame) -> None:
    out["archivo_origen"] = _object(staged["archivo_origen"])
    out["archivo_sha256"] = _object(staged["archivo_sha256"])
    hoja = staged["hoja"]
    # a csv has no sheets: its frames carry None in every row (as _missing, a categorical without categories,
    # which the SESNSP frames already are)
    out["hoja"] = _missing(out.index) if len(hoja) and hoja.dtype == object and hoja.isna().all() \
        else _object(hoja)
    out["fila_origen"] = staged["fila_origen"].astype("int64")


def _cie_common(staged: pd.DataFrame, dim_municipio: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    mun = resolve_municipios(staged["cve_ent"], staged["municipio"], dim_municipio)
    out = pd.DataFrame(index=staged.index)
    out["periodo"] = pd.to_datetime(staged["periodo"])
    out["cve_ent"] = _object(staged["cve_ent"])
    out["cvegeo"] = mun["cvegeo"]
    out["nivel"] = "municipal"
    out["fuente"] = "CIE"
    out["metodologia"] = metodologia_de_periodo(staged["periodo"])
    return out, mun


def harmonize_cie_carpetas(staged: pd.DataFrame, dim_municipio: pd.DataFrame) -> Harmonized:
    """CIE carpetas: municipality resolved, metodologia from the period, blanks kept as <NA>."""
    staged = staged.reset_index(drop=True)
    out, mun = _cie_common(staged, dim_municipio)
    out["carpetas"] = staged["carpetas"].astype("Int64")
    out["municipio_regla"] = mun["regla"]
    out["versiones_crosswalk"] = versions_text(CIE_CARPETAS_CROSSWALKS)
    _lineage(staged, out)
    out["corte"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
    sin_mapeo = _collect([_sin_mapeo(staged["archivo_origen"], "municipio", staged["municipio"],
                                     mun["regla"])])
    return Harmonized(out[FACT_CARPETAS_COLUMNS], sin_mapeo)


def _classify_sexo_per_column(staged: pd.DataFrame) -> pd.DataFrame:
    """The F/M/H rule reads a letter against its own column: one file and sheet at a time."""
    parts = [classify_sexo(group["sexo"])
             for _, group in staged.groupby(["archivo_origen", "hoja"], dropna=False, sort=False)]
    if not parts:
        return classify_sexo(staged["sexo"])
    return pd.concat(parts).reindex(staged.index)


def _reglas(**rules: pd.Series) -> pd.Series:
    """'municipio=exacta;forma=palabra_clave;…' per row, in the order given."""
    text = None
    for name, regla in rules.items():
        part = f"{name}=" + regla.astype(str)
        text = part if text is None else text + ";" + part
    return text.astype(object)


def harmonize_cie_victimas(staged: pd.DataFrame, dim_municipio: pd.DataFrame) -> Harmonized:
    """CIE victims: municipality, form, sex (per file and sheet), age group and nationality classified."""
    staged = staged.reset_index(drop=True)
    out, mun = _cie_common(staged, dim_municipio)
    forma = classify_forma(staged["forma_explotacion"])
    sexo = _classify_sexo_per_column(staged)
    edad = classify_grupo_edad(staged["grupo_edad"])
    nac = classify_nacionalidad(staged["nacionalidad"])
    out["forma_explotacion"] = forma["forma_explotacion"]
    out["sexo"] = sexo["sexo"]
    out["grupo_edad"] = edad["grupo_edad"]
    out["grupo_edad_detalle"] = edad["grupo_edad_detalle"]
    out["nacionalidad"] = nac["nacionalidad"]
    out["pais"] = nac["pais"]
    out["victimas"] = staged["victimas"].astype("Int64")
    out["reglas"] = _reglas(municipio=mun["regla"], forma=forma["regla"], sexo=sexo["regla"],
                            edad=edad["regla"], nacionalidad=nac["regla"])
    out["versiones_crosswalk"] = versions_text(CIE_VICTIMAS_CROSSWALKS)
    _lineage(staged, out)
    out["corte"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
    archivo = staged["archivo_origen"]
    sin_mapeo = _collect([
        _sin_mapeo(archivo, "municipio", staged["municipio"], mun["regla"]),
        _sin_mapeo(archivo, "forma_explotacion", staged["forma_explotacion"], forma["regla"]),
        _sin_mapeo(archivo, "sexo", staged["sexo"], sexo["regla"]),
        _sin_mapeo(archivo, "grupo_edad", staged["grupo_edad"], edad["regla"]),
        _sin_mapeo(archivo, "nacionalidad", staged["nacionalidad"], nac["regla"]),
    ])
    return Harmonized(out[FACT_VICTIMAS_COLUMNS], sin_mapeo)


def forma_label_de_delito(delito: pd.Series) -> pd.Series:
    """The label the forms crosswalk reads from a SESNSP subtype: RNID-2026 writes subtypes as
    'Parent - Child' ('Trata de personas - Explotación laboral'): the child names the purpose. Other
    labels ('Trata de personas con fines de …', a bare 'Trata de personas') pass unchanged."""
    def one(label: object) -> object:
        if not isinstance(label, str) or " - " not in label:
            return label
        parent, child = label.split(" - ", 1)
        return child.strip() if normalize_label(parent) == _TRATA and child.strip() else label
    labels = pd.Series(delito, dtype=object)
    uniques = labels.dropna().unique()
    mapped = labels.map(dict(zip(uniques, (one(u) for u in uniques)))).astype(object)
    return mapped.where(labels.notna(), None)


def _sesnsp_common(staged: pd.DataFrame, nivel: str) -> pd.DataFrame:
    out = pd.DataFrame(index=staged.index)
    out["periodo"] = pd.to_datetime(staged["periodo"])
    out["cve_ent"] = _object(staged["cve_ent"])
    if nivel == "municipal":
        out["cvegeo"] = _object(staged["cvegeo"])   # categorical in the big file: kept so
    else:
        out["cvegeo"] = None                          # None in every row (a Series(None, dtype=object) is NaN)
        out["cvegeo"] = out["cvegeo"].astype(object)
    out["nivel"] = _constant(nivel, out.index)
    out["fuente"] = _constant("SESNSP", out.index)
    out["metodologia"] = _object(staged["metodologia"])
    return out


def harmonize_sesnsp_carpetas(estatal: pd.DataFrame, municipal: pd.DataFrame) -> Harmonized:
    """SESNSP carpetas: state-file rows as nivel 'estatal' (no cvegeo), municipal-file rows by CVEGEO.

    The municipal file's CVEGEO comes from its own codes (998/999 already as pseudo-codes), so its
    municipio_regla is 'codigo'; state rows have no municipality and no rule.
    """
    parts = []
    for staged, nivel in ((estatal, "estatal"), (municipal, "municipal")):
        staged = staged.reset_index(drop=True)
        out = _sesnsp_common(staged, nivel)
        out["carpetas"] = staged["carpetas"].astype("Int64")
        out["municipio_regla"] = _constant("codigo", out.index) if nivel == "municipal" \
            else pd.Series(None, index=out.index, dtype=object)
        out["versiones_crosswalk"] = _missing(out.index)   # codes, no crosswalk
        _lineage(staged, out)
        out["corte"] = pd.to_datetime(staged["corte"])
        parts.append(out[FACT_CARPETAS_COLUMNS])
    return Harmonized(concat_facts(parts), _collect([]))


def harmonize_sesnsp_victimas(estatal: pd.DataFrame, municipal: pd.DataFrame | None = None) -> Harmonized:
    """SESNSP victims: state-file rows as nivel 'estatal' (no cvegeo) and, from 2026, municipal-file rows by
    their CVEGEO (municipio rule 'codigo'). 2015-2025 (CNSP-38-15) has no form or nationality breakdown:
    NO_ESPECIFICADA and No especificada with rule 'sin_desglose'. RNID-2026 rows take the form from their
    delito subtype (the child of 'Trata de personas - …') through the forms crosswalk; an unknown subtype
    keeps its count under SIN_CLASIFICAR and is listed. Sex and age labels go through the same crosswalks as
    the CIE's (the 2026 age ranges fill grupo_edad_detalle)."""
    parts, sin_mapeo = [], []
    levels = [(estatal, "estatal")] + ([(municipal, "municipal")] if municipal is not None else [])
    for staged, nivel in levels:
        h = _sesnsp_victimas_level(staged.reset_index(drop=True), nivel)
        parts.append(h.frame)
        sin_mapeo.append(h.sin_mapeo)
    frame = concat_facts([p for p in parts if len(p)] or parts[:1])
    return Harmonized(frame, _collect(sin_mapeo))


def _sesnsp_victimas_level(staged: pd.DataFrame, nivel: str) -> Harmonized:
    out = _sesnsp_common(staged, nivel)
    cnsp = (staged["metodologia"] != "RNID-2026").to_numpy()
    forma = classify_forma(forma_label_de_delito(staged["delito"]))
    # an analyst copies the label as listed (the whole subtype) into the crosswalk: an exact entry for the
    # whole subtype wins over what its purpose alone would give
    whole = classify_forma(staged["delito"])
    exact = (whole["regla"] == "exacta").to_numpy()
    forma.loc[exact] = whole.loc[exact]
    forma.loc[cnsp, "forma_explotacion"] = NO_ESPECIFICADA
    forma.loc[cnsp, "regla"] = SIN_DESGLOSE
    sexo = _classify_sexo_per_column(staged)
    edad = classify_grupo_edad(staged["rango_edad"])
    out["forma_explotacion"] = forma["forma_explotacion"]
    out["sexo"] = sexo["sexo"]
    out["grupo_edad"] = edad["grupo_edad"]
    out["grupo_edad_detalle"] = edad["grupo_edad_detalle"]
    out["nacionalidad"] = NACIONALIDAD_NE
    out["pais"] = None
    out["pais"] = out["pais"].astype(object)
    out["victimas"] = staged["victimas"].astype("Int64")
    rules = {"forma": forma["regla"], "sexo": sexo["regla"], "edad": edad["regla"],
             "nacionalidad": pd.Series(SIN_DESGLOSE, index=out.index)}
    if nivel == "municipal":
        rules = {"municipio": pd.Series("codigo", index=out.index), **rules}
    out["reglas"] = _reglas(**rules)
    out["versiones_crosswalk"] = versions_text(SESNSP_VICTIMAS_CROSSWALKS)
    _lineage(staged, out)
    out["corte"] = pd.to_datetime(staged["corte"])
    archivo = staged["archivo_origen"]
    sin_mapeo = _collect([
        _sin_mapeo(archivo, "forma_explotacion", staged["delito"], forma["regla"]),
        _sin_mapeo(archivo, "sexo", staged["sexo"], sexo["regla"]),
        _sin_mapeo(archivo, "grupo_edad", staged["rango_edad"], edad["regla"]),
    ])
    return Harmonized(out[FACT_VICTIMAS_COLUMNS], sin_mapeo)
