"""The expectation suites, as code: one per staged source and per warehouse table, with its severity.

A suite is built for a given `today` (the date in America/Mexico_City) because "not in the future" moves:
the current month counts as future (domain.md section 6). Each `SuiteSpec` also says whether a failure
blocks the run (bad data would corrupt the warehouse) or only warns (a person should look at it), and may
derive helper columns (`chk_*`) that `quality.gx` adds to a copy of the frame before validating: rules
that span columns (a CVEGEO's state prefix, diferencia = valor_cie - valor_sesnsp) are then plain
column-pair expectations whose unexpected values show both sides.

Suites only look at contract columns (never descripcion, responsable or anything that may hold personal
data), so the unexpected values they report are safe to show in check metadata.
"""
from __future__ import annotations

import os

# Before GX is imported anywhere through this module: no usage statistics leave the machine.
os.environ["GX_ANALYTICS_ENABLED"] = "False"

from dataclasses import dataclass  # noqa: E402
from datetime import date, datetime  # noqa: E402
from typing import Any, Callable, ClassVar, Dict, Optional, Tuple  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

import great_expectations.expectations as gxe  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from great_expectations.expectations.expectation import BatchExpectation  # noqa: E402

from cies_pipeline.settings import TIMEZONE  # noqa: E402
from cies_pipeline.sources.common import EXCLUDED_REASONS as MOTIVOS_EXCLUSION  # noqa: E402

ENTIDADES = [f"{i:02d}" for i in range(1, 33)]
METODOLOGIAS = ["CNSP-38-15", "RNID-2026"]
RNID_DESDE = pd.Timestamp("2026-01-01")
PERIODO_MINIMO = datetime(2015, 1, 1)
ESTATUS_ACUERDO = ["Cumplido", "En proceso", "Pendiente", "Cancelado"]
FORMAS_EXPLOTACION = ["ESCLAVITUD", "SERVIDUMBRE", "EXPLOTACION_SEXUAL", "EXPLOTACION_LABORAL",
                      "TRABAJO_FORZADO", "MENDICIDAD", "ACTIVIDADES_DELICTIVAS", "ADOPCION_ILEGAL",
                      "MATRIMONIO_FORZADO", "TRAFICO_ORGANOS", "EXPERIMENTACION", "NO_ESPECIFICADA",
                      "SIN_CLASIFICAR"]
SEXOS = ["Mujer", "Hombre", "No identificado"]
GRUPOS_EDAD = ["Menores de edad (0-17)", "Adultos (18 y más)", "No especificado"]
NACIONALIDADES = ["Mexicana", "Extranjera", "No especificada"]
ESTATUS_RECONCILIACION = ["coincide", "discrepa", "sin_reporte_cie", "sin_dato_sesnsp"]
MEDIDAS = ["carpetas", "victimas"]
# One CIE row is one municipality and month (often one victim). National trafficking figures are a few
# hundred to about a thousand a year, so a single row above this is worth a person's look (a typo, a
# yearly total typed into one month), not an error.
CONTEO_INUSUAL = 100
NULO = "(nulo)"  # how a missing value reads in the chk_* comparison columns

LINEAJE = ["archivo_origen", "archivo_sha256", "hoja", "fila_origen"]


def mexico_today() -> date:
    """Today's date in America/Mexico_City, the calendar that decides which months are in the future."""
    return datetime.now(ZoneInfo(TIMEZONE)).date()


# -- a column-contract expectation that understands pandas' nullable and pandas 3 string dtypes ------
class ExpectColumnsOfKinds(BatchExpectation):
    """Expect every column of a table's contract to exist, each of its kind (texto, entero, fecha, booleano,
    numero; see `dtype_is_kind`): one expectation for the whole contract. GX spends about 0.05-0.15 s on each
    expectation whatever its work, and two per column (exists + kind) were half of a large suite's time. The
    observed value lists every missing column and every column of the wrong kind."""

    columnas: list
    tipos: dict

    metric_dependencies: ClassVar[Tuple[str, ...]] = ("table.column_types", "table.row_count")
    success_keys: ClassVar[Tuple[str, ...]] = ("columnas", "tipos")
    domain_keys: ClassVar[Tuple[str, ...]] = ("batch_id",)
    args_keys: ClassVar[Tuple[str, ...]] = ("columnas", "tipos")

    def _validate(self, metrics: Dict, runtime_configuration: Optional[dict] = None,
                  execution_engine: Any = None) -> Dict:
        columnas = list(self.configuration.kwargs["columnas"])
        tipos = dict(self.configuration.kwargs["tipos"])
        found = {t["name"]: t["type"] for t in metrics["table.column_types"]}
        empty = metrics["table.row_count"] == 0
        problems = [f"{c}: columna ausente" for c in [*columnas, *(c for c in tipos if c not in columnas)]
                    if c not in found]
        problems += [f"{c}: {found[c]} (se esperaba {k})" for c, k in tipos.items()
                     if c in found and not dtype_is_kind(found[c], k, empty=empty)]
        return {"success": not problems,
                "result": {"observed_value": "; ".join(problems) if problems else
                           f"{len(columnas)} columnas presentes y del tipo esperado"}}


def dtype_is_kind(dtype: Any, kind: str, empty: bool = False) -> bool:
    api = pd.api.types
    if isinstance(dtype, pd.CategoricalDtype):  # labels that repeat (SESNSP readers): the categories decide
        categories = dtype.categories.dtype
        return kind == "texto" and (api.is_object_dtype(categories) or isinstance(categories, pd.StringDtype))
    if api.is_object_dtype(dtype) and (empty or kind == "texto"):
        return True
    if kind == "texto":
        return isinstance(dtype, pd.StringDtype)
    if kind == "entero":
        return api.is_integer_dtype(dtype) and not api.is_bool_dtype(dtype)
    if kind == "fecha":
        return api.is_datetime64_any_dtype(dtype)
    if kind == "booleano":
        return api.is_bool_dtype(dtype)
    if kind == "numero":
        return api.is_numeric_dtype(dtype) and not api.is_bool_dtype(dtype)
    raise ValueError(f"tipo desconocido: {kind}")


# -- the registry -----------------------------------------------------------------------------------
Derive = Callable[[pd.DataFrame], Dict[str, pd.Series]]


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    description: str  # what the suite guards and why its severity is what it is
    build: Callable[[date], list]  # today -> list of GX expectations (fresh objects on every call)
    blocking: bool  # True: a failure stops the run before publish (ERROR); False: WARN
    derive: Optional[Derive] = None  # helper chk_* columns, computed on a copy of the frame


# -- building blocks --------------------------------------------------------------------------------
def _first_of_month(today: date) -> datetime:
    return datetime(today.year, today.month, 1)


def _columns(columns: list[str], kinds: dict[str, str]) -> list:
    for kind in kinds.values():
        if kind not in ("texto", "entero", "fecha", "booleano", "numero"):
            raise ValueError(f"tipo desconocido: {kind}")
    return [ExpectColumnsOfKinds(columnas=list(columns), tipos=dict(kinds))]


def _not_null(*columns: str) -> list:
    return [gxe.ExpectColumnValuesToNotBeNull(column=c) for c in columns]


def _in_set(column: str, values: list[str]) -> Any:
    return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(values))


def _non_negative(*columns: str) -> list:
    # nulls are ignored by GX's map expectations: a blank count (not reported) is not negative
    return [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in columns]


def _periodo(today: date, column: str = "periodo") -> list:
    """Not null, from 2015-01 and strictly before the first day of the current month."""
    return [gxe.ExpectColumnValuesToNotBeNull(column=column),
            gxe.ExpectColumnValuesToBeBetween(column=column, min_value=PERIODO_MINIMO,
                                              max_value=_first_of_month(today), strict_max=True)]


def _cvegeo(column: str = "cvegeo") -> list:
    return [gxe.ExpectColumnValuesToMatchRegex(column=column, regex=r"^\d{5}$"),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="chk_entidad_de_cvegeo", column_B="cve_ent",
                                                ignore_row_if="either_value_is_missing")]


def _unique(*columns: str) -> Any:
    return gxe.ExpectCompoundColumnsToBeUnique(column_list=list(columns))


def _text(series: pd.Series) -> pd.Series:
    """Values as comparable text; missing as NULO (pair expectations then never meet a missing value)."""
    return series.astype("string").fillna(NULO).astype(object)


def _number_text(series: pd.Series) -> pd.Series:
    """Numbers as text (whole numbers without '.0'), missing as NULO, so 5 and 5.0 compare equal."""
    numbers = pd.to_numeric(series, errors="coerce").astype("Float64")
    return pd.Series([NULO if pd.isna(v) else (str(int(v)) if float(v).is_integer() else repr(float(v)))
                      for v in numbers], index=series.index, dtype=object)


def _get(frame: pd.DataFrame, column: str) -> pd.Series:
    if column in frame.columns:
        return frame[column]
    return pd.Series(pd.NA, index=frame.index, dtype="object")


def _derive_cvegeo(frame: pd.DataFrame) -> Dict[str, pd.Series]:
    """The state prefix of each CVEGEO, as a categorical (compared with cve_ent by category codes)."""
    cvegeo = _get(frame, "cvegeo")
    if isinstance(cvegeo.dtype, pd.CategoricalDtype):  # once per distinct CVEGEO, spread by the codes
        prefixes = cvegeo.cat.categories.astype("string").str.slice(0, 2).astype(object).to_numpy()
        labels, per_category = np.unique(prefixes, return_inverse=True)
        # code -1 (missing) takes the -1 appended at the end
        codes = np.append(per_category.astype(np.int64), -1)[cvegeo.cat.codes.to_numpy()]
        return {"chk_entidad_de_cvegeo": pd.Series(pd.Categorical.from_codes(codes, categories=labels),
                                                   index=frame.index)}
    return {"chk_entidad_de_cvegeo": cvegeo.astype("string").str.slice(0, 2).astype("category")}


def _derive_metodologia(frame: pd.DataFrame) -> Dict[str, pd.Series]:
    """The methodology a row's month must have (RNID-2026 from 2026), as a categorical; missing without month."""
    periodo = pd.to_datetime(_get(frame, "periodo"), errors="coerce")
    codes = np.where(periodo.isna().to_numpy(), -1, (periodo >= RNID_DESDE).to_numpy().astype(np.int8))
    return {"chk_metodologia_segun_periodo": pd.Series(
        pd.Categorical.from_codes(codes, categories=["CNSP-38-15", "RNID-2026"]), index=frame.index)}


def _derive_fact(frame: pd.DataFrame) -> Dict[str, pd.Series]:
    return {**_derive_cvegeo(frame), **_derive_metodologia(frame)}


def _derive_reconciliacion(frame: pd.DataFrame) -> Dict[str, pd.Series]:
    cie, sesnsp, diferencia = (pd.to_numeric(_get(frame, c), errors="coerce").astype("float64")
                               for c in ("valor_cie", "valor_sesnsp", "diferencia"))
    both = cie.notna() & sesnsp.notna()
    # diferencia is NULL unless both sides have a figure (domain.md section 10)
    esperada = (cie - sesnsp).where(both)
    estatus = pd.Series(np.select(
        [(both & (cie == sesnsp)).to_numpy(bool), both.to_numpy(bool),
         (cie.isna() & sesnsp.notna()).to_numpy(bool), (cie.notna() & sesnsp.isna()).to_numpy(bool)],
        ["coincide", "discrepa", "sin_reporte_cie", "sin_dato_sesnsp"], default=None),
        index=frame.index, dtype=object)
    derived = {"chk_diferencia": _number_text(diferencia),
               "chk_diferencia_esperada": _number_text(esperada),
               "chk_estatus": _text(_get(frame, "estatus")),
               "chk_estatus_esperado": _text(estatus)}
    if "cvegeo" in frame.columns:
        derived.update(_derive_cvegeo(frame))
    return derived


# -- the suites ---------------------------------------------------------------------------------------
_CIE_LINEAJE = LINEAJE + ["reporte"]
_CIE_LINEAJE_KINDS = {"archivo_origen": "texto", "archivo_sha256": "texto", "hoja": "texto",
                      "fila_origen": "entero", "reporte": "texto"}


def _cie_carpetas(today: date) -> list:
    return [*_columns(_CIE_LINEAJE + ["periodo", "cve_ent", "municipio", "carpetas"],
                      {**_CIE_LINEAJE_KINDS, "periodo": "fecha", "cve_ent": "texto", "municipio": "texto",
                       "carpetas": "entero"}),
            *_not_null("archivo_origen", "fila_origen", "cve_ent"),
            *_periodo(today),
            _in_set("cve_ent", ENTIDADES),
            *_non_negative("carpetas"),
            gxe.ExpectColumnValuesToBeBetween(column="carpetas", max_value=CONTEO_INUSUAL)]


def _cie_victimas(today: date) -> list:
    return [*_columns(_CIE_LINEAJE + ["periodo", "cve_ent", "municipio", "forma_explotacion", "sexo",
                                      "grupo_edad", "nacionalidad", "victimas"],
                      {**_CIE_LINEAJE_KINDS, "periodo": "fecha", "cve_ent": "texto", "municipio": "texto",
                       "forma_explotacion": "texto", "sexo": "texto", "grupo_edad": "texto",
                       "nacionalidad": "texto", "victimas": "entero"}),
            *_not_null("archivo_origen", "fila_origen", "cve_ent"),
            *_periodo(today),
            _in_set("cve_ent", ENTIDADES),
            *_non_negative("victimas"),
            gxe.ExpectColumnValuesToBeBetween(column="victimas", max_value=CONTEO_INUSUAL)]


_COMITE_CONTEOS = ["sesiones_ordinarias", "sesiones_extraordinarias", "usuarios_sintra_asignados",
                   "usuarios_sintra_capacitados"]
_COMITE_FECHAS = ["fecha_instalacion", "fecha_ultima_sesion", "fecha_primera_carga_sintra"]


def _cie_comite(today: date) -> list:
    kinds = {**_CIE_LINEAJE_KINDS, "cve_ent": "texto", "instalado": "booleano",
             "instrumento_juridico": "texto", **{c: "entero" for c in _COMITE_CONTEOS},
             **{c: "fecha" for c in _COMITE_FECHAS}}
    return [*_columns(_CIE_LINEAJE + ["cve_ent", "instalado", "instrumento_juridico"] + _COMITE_CONTEOS
                      + _COMITE_FECHAS, kinds),
            *_not_null("cve_ent"),
            _in_set("cve_ent", ENTIDADES),
            # one committee per state once re-sent reports are resolved
            gxe.ExpectColumnValuesToBeUnique(column="cve_ent"),
            *_non_negative(*_COMITE_CONTEOS)]


def _cie_acuerdos(today: date) -> list:
    kinds = {**_CIE_LINEAJE_KINDS, "cve_ent": "texto", "id_acuerdo": "texto", "estatus": "texto",
             "fecha_sesion": "fecha", "fecha_compromiso": "fecha"}
    return [*_columns(_CIE_LINEAJE + ["cve_ent", "id_acuerdo", "fecha_sesion", "descripcion",
                                      "responsable", "estatus", "fecha_compromiso"], kinds),
            *_not_null("cve_ent", "id_acuerdo", "estatus"),
            _in_set("cve_ent", ENTIDADES),
            _in_set("estatus", ESTATUS_ACUERDO),
            _unique("cve_ent", "id_acuerdo")]


_SESNSP_KINDS = {"archivo_origen": "texto", "archivo_sha256": "texto", "fila_origen": "entero",
                 "corte": "fecha", "metodologia": "texto", "periodo": "fecha", "cve_ent": "texto",
                 "delito": "texto"}
_SESNSP_COLUMNS = LINEAJE + ["corte", "metodologia", "periodo", "cve_ent", "delito"]


def _sesnsp(today: date, extra: list[str], conteo: str, key: list[str]) -> list:
    kinds = {**_SESNSP_KINDS, **{c: "texto" for c in extra}, conteo: "entero"}
    return [*_columns(_SESNSP_COLUMNS + extra + [conteo], kinds),
            *_not_null("archivo_origen", "archivo_sha256", "fila_origen", "corte", "metodologia",
                       "cve_ent", "delito", conteo, *extra),
            *_periodo(today),
            gxe.ExpectColumnValuesToBeBetween(column="corte", min_value=PERIODO_MINIMO),
            # a release never holds a month after its own release month
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="corte", column_B="periodo",
                                                        or_equal=True,
                                                        ignore_row_if="either_value_is_missing"),
            _in_set("metodologia", METODOLOGIAS),
            _in_set("cve_ent", ENTIDADES),
            *_non_negative(conteo),
            # one key is one row within a file; the same key from two releases is two files
            _unique(*key)]


def _sesnsp_carpetas_estatal(today: date) -> list:
    return _sesnsp(today, [], "carpetas", ["archivo_origen", "periodo", "cve_ent", "delito"])


def _sesnsp_victimas_estatal(today: date) -> list:
    return _sesnsp(today, ["sexo", "rango_edad"], "victimas",
                   ["archivo_origen", "periodo", "cve_ent", "delito", "sexo", "rango_edad"])


def _sesnsp_carpetas_municipal(today: date) -> list:
    return [*_sesnsp(today, ["cvegeo"], "carpetas", ["archivo_origen", "periodo", "cvegeo", "delito"]),
            *_cvegeo()]


def _sesnsp_victimas_municipal(today: date) -> list:
    return [*_sesnsp(today, ["cvegeo", "sexo", "rango_edad"], "victimas",
                     ["archivo_origen", "periodo", "cvegeo", "delito", "sexo", "rango_edad"]),
            *_cvegeo()]


def _ageeml(today: date) -> list:
    return [*_columns(["cvegeo", "cve_ent", "cve_mun", "nombre"],
                      {"cvegeo": "texto", "cve_ent": "texto", "cve_mun": "texto", "nombre": "texto"}),
            *_not_null("cvegeo", "cve_ent", "cve_mun", "nombre"),
            gxe.ExpectColumnValuesToBeUnique(column="cvegeo"),
            _in_set("cve_ent", ENTIDADES),
            gxe.ExpectColumnValuesToMatchRegex(column="cve_mun", regex=r"^\d{3}$"),
            *_cvegeo()]


def _poblacion_estatal(today: date) -> list:
    return [*_columns(["anio", "cve_ent", "poblacion", "archivo_origen"],
                      {"anio": "entero", "cve_ent": "texto", "poblacion": "entero", "archivo_origen": "texto"}),
            *_not_null("anio", "cve_ent", "poblacion"),
            _in_set("cve_ent", ["00", *ENTIDADES]),
            gxe.ExpectColumnValuesToBeBetween(column="anio", min_value=1950, max_value=2070),
            # a rate per 100,000 inhabitants divides by it: never zero or negative
            gxe.ExpectColumnValuesToBeBetween(column="poblacion", min_value=1),
            _unique("archivo_origen", "anio", "cve_ent")]


def _poblacion_municipal(today: date) -> list:
    return [*_columns(["anio", "cvegeo", "cve_ent", "poblacion", "archivo_origen"],
                      {"anio": "entero", "cvegeo": "texto", "cve_ent": "texto", "poblacion": "entero",
                       "archivo_origen": "texto"}),
            *_not_null("anio", "cvegeo", "cve_ent", "poblacion"),
            _in_set("cve_ent", ENTIDADES),
            gxe.ExpectColumnValuesToBeBetween(column="anio", min_value=1950, max_value=2070),
            gxe.ExpectColumnValuesToBeBetween(column="poblacion", min_value=1),
            # CONAPO splits the projections over two files: a (year, municipality) in both would be summed twice
            _unique("anio", "cvegeo"),
            *_cvegeo()]


_FACT_COLUMNS = ["periodo", "cve_ent", "cvegeo", "nivel", "fuente", "metodologia", "archivo_origen",
                 "archivo_sha256", "fila_origen"]
_FACT_KINDS = {"periodo": "fecha", "cve_ent": "texto", "cvegeo": "texto", "nivel": "texto",
               "fuente": "texto", "metodologia": "texto", "archivo_origen": "texto",
               "archivo_sha256": "texto", "fila_origen": "entero"}


def _fact(today: date, extra: list[str], conteo: str) -> list:
    return [*_columns(_FACT_COLUMNS + extra + [conteo],
                      {**_FACT_KINDS, **{c: "texto" for c in extra}, conteo: "entero"}),
            *_not_null("cve_ent", "nivel", "fuente", "metodologia", "archivo_origen", "archivo_sha256",
                       "fila_origen", *extra),
            *_periodo(today),
            _in_set("cve_ent", ENTIDADES),
            _in_set("nivel", ["estatal", "municipal"]),
            _in_set("fuente", ["CIE", "SESNSP"]),
            _in_set("metodologia", METODOLOGIAS),
            # 2026 figures are RNID-2026, earlier ones CNSP-38-15: never mixed in one series
            gxe.ExpectColumnPairValuesToBeEqual(column_A="metodologia",
                                                column_B="chk_metodologia_segun_periodo",
                                                ignore_row_if="either_value_is_missing"),
            gxe.ExpectColumnValuesToMatchRegex(column="archivo_sha256", regex=r"^[0-9a-f]{64}$"),
            # a municipal row without its municipality would vanish from every municipal total
            gxe.ExpectColumnValuesToNotBeNull(column="cvegeo", row_condition='nivel == "municipal"',
                                              condition_parser="pandas"),
            # a CIE blank stays NULL (not reported), so only non-null counts are checked
            *_non_negative(conteo),
            *_cvegeo()]


def _fact_carpetas_trata(today: date) -> list:
    return _fact(today, [], "carpetas")


def _fact_victimas_trata(today: date) -> list:
    return [*_fact(today, ["forma_explotacion", "sexo", "grupo_edad", "nacionalidad"], "victimas"),
            _in_set("forma_explotacion", FORMAS_EXPLOTACION),
            _in_set("sexo", SEXOS),
            _in_set("grupo_edad", GRUPOS_EDAD),
            _in_set("nacionalidad", NACIONALIDADES)]


_RECONCILIACION_KINDS = {"periodo": "fecha", "cve_ent": "texto", "medida": "texto", "valor_cie": "numero",
                         "valor_sesnsp": "numero", "diferencia": "numero", "estatus": "texto"}


def _reconciliacion(today: date, municipal: bool = False) -> list:
    columns = list(_RECONCILIACION_KINDS) + (["cvegeo"] if municipal else [])
    kinds = {**_RECONCILIACION_KINDS, **({"cvegeo": "texto"} if municipal else {})}
    key = ["periodo", "cvegeo", "medida"] if municipal else ["periodo", "cve_ent", "medida"]
    expectations = [*_columns(columns, kinds),
                    *_not_null("cve_ent", "medida", "estatus", *(["cvegeo"] if municipal else [])),
                    *_periodo(today),
                    _in_set("cve_ent", ENTIDADES),
                    _in_set("medida", MEDIDAS),
                    _in_set("estatus", ESTATUS_RECONCILIACION),
                    _unique(*key),
                    gxe.ExpectColumnPairValuesToBeEqual(column_A="chk_diferencia",
                                                        column_B="chk_diferencia_esperada"),
                    gxe.ExpectColumnPairValuesToBeEqual(column_A="chk_estatus",
                                                        column_B="chk_estatus_esperado")]
    if municipal:
        expectations += _cvegeo()
    return expectations


# -- warehouse dimensions, status tables and quality tables (validated inside the publish step) ----------------
def _dim_entidad(today: date) -> list:
    return [*_columns(["cve_ent", "nombre", "nombre_corto", "abreviatura"],
                      {c: "texto" for c in ("cve_ent", "nombre", "nombre_corto", "abreviatura")}),
            gxe.ExpectTableRowCountToEqual(value=32),
            *_not_null("cve_ent", "nombre", "nombre_corto", "abreviatura"),
            gxe.ExpectColumnValuesToBeUnique(column="cve_ent"),
            _in_set("cve_ent", ENTIDADES)]


def _derive_dim_municipio(frame: pd.DataFrame) -> Dict[str, pd.Series]:
    cve_mun = _get(frame, "cve_mun").astype("string")
    es_real = _get(frame, "es_real")
    # EE998/EE999 are the pseudo-municipalities: es_real false exactly for them (domain.md section 3)
    pseudo = cve_mun.isin(["998", "999"]).fillna(False)
    esperado = pd.Series(np.where(pseudo.to_numpy(bool), "False", "True"), index=frame.index, dtype=object)
    return {**_derive_cvegeo(frame), "chk_es_real": _text(es_real.astype("string")),
            "chk_es_real_esperado": esperado.astype(object),
            "chk_cvegeo_esperado": _text(_get(frame, "cve_ent").astype("string") + cve_mun),
            "chk_cvegeo": _text(_get(frame, "cvegeo"))}


def _dim_municipio(today: date) -> list:
    return [*_columns(["cvegeo", "cve_ent", "cve_mun", "nombre", "es_real"],
                      {"cvegeo": "texto", "cve_ent": "texto", "cve_mun": "texto", "nombre": "texto",
                       "es_real": "booleano"}),
            *_not_null("cvegeo", "cve_ent", "cve_mun", "nombre", "es_real"),
            gxe.ExpectColumnValuesToBeUnique(column="cvegeo"),
            _in_set("cve_ent", ENTIDADES),
            gxe.ExpectColumnValuesToMatchRegex(column="cve_mun", regex=r"^\d{3}$"),
            *_cvegeo(),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="chk_cvegeo", column_B="chk_cvegeo_esperado"),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="chk_es_real", column_B="chk_es_real_esperado"),
            # every state has its EE998 and EE999: SESNSP's 998/999 and a blank municipality land there
            gxe.ExpectColumnValuesToBeBetween(column="chk_pseudo_por_entidad", min_value=2, max_value=2)]


def _derive_dim_municipio_all(frame: pd.DataFrame) -> Dict[str, pd.Series]:
    derived = _derive_dim_municipio(frame)
    pseudo = _get(frame, "cve_mun").astype("string").isin(["998", "999"]).fillna(False)
    counts = pseudo.groupby(_get(frame, "cve_ent").astype(object)).transform("sum")
    derived["chk_pseudo_por_entidad"] = counts.astype("int64")
    return derived


def _dim_forma_explotacion(today: date) -> list:
    return [*_columns(["codigo", "fraccion_art10", "nombre", "categoria_unodc"],
                      {"codigo": "texto", "nombre": "texto", "categoria_unodc": "texto"}),
            *_not_null("codigo", "nombre", "categoria_unodc"),
            gxe.ExpectColumnValuesToBeUnique(column="codigo"),
            # the catalogue is exactly the canonical codes: a fact with a code missing here would not join
            gxe.ExpectColumnDistinctValuesToEqualSet(column="codigo", value_set=list(FORMAS_EXPLOTACION)),
            gxe.ExpectColumnValuesToBeInSet(column="fraccion_art10",
                                            value_set=["I", "II", "III", "IV", "V", "VI", "VII", "VIII",
                                                       "IX", "X", "XI", ""])]


def _reconciliacion_forma(today: date) -> list:
    kinds = {k: v for k, v in _RECONCILIACION_KINDS.items() if k != "medida"}
    return [*_columns(list(kinds) + ["forma_explotacion"], {**kinds, "forma_explotacion": "texto"}),
            *_not_null("cve_ent", "forma_explotacion", "estatus"),
            *_periodo(today),
            _in_set("cve_ent", ENTIDADES),
            _in_set("forma_explotacion", FORMAS_EXPLOTACION),
            _in_set("estatus", ESTATUS_RECONCILIACION),
            _unique("periodo", "cve_ent", "forma_explotacion"),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="chk_diferencia", column_B="chk_diferencia_esperada"),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="chk_estatus", column_B="chk_estatus_esperado")]


_ESTATUS_CONTEOS = ["sesiones_ordinarias", "sesiones_extraordinarias", "acuerdos_total", "acuerdos_cumplidos",
                    "usuarios_sintra_asignados", "usuarios_sintra_capacitados"]


def _derive_cie_estatus(frame: pd.DataFrame) -> Dict[str, pd.Series]:
    total = pd.to_numeric(_get(frame, "acuerdos_total"), errors="coerce").astype("float64")
    cumplidos = pd.to_numeric(_get(frame, "acuerdos_cumplidos"), errors="coerce").astype("float64")
    return {"chk_acuerdos_total": total, "chk_acuerdos_cumplidos": cumplidos}


def _cie_estatus(today: date) -> list:
    return [*_columns(["cve_ent", "instalado", "ultimo_reporte", *_ESTATUS_CONTEOS],
                      {"cve_ent": "texto", "instalado": "booleano", "ultimo_reporte": "fecha",
                       **{c: "entero" for c in _ESTATUS_CONTEOS}}),
            # always the 32 states, one row each: a state without a committee or a report still shows
            gxe.ExpectTableRowCountToEqual(value=32),
            gxe.ExpectColumnValuesToBeUnique(column="cve_ent"),
            gxe.ExpectColumnDistinctValuesToEqualSet(column="cve_ent", value_set=ENTIDADES),
            *_non_negative(*_ESTATUS_CONTEOS),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="chk_acuerdos_total",
                                                        column_B="chk_acuerdos_cumplidos", or_equal=True,
                                                        ignore_row_if="either_value_is_missing"),
            gxe.ExpectColumnValuesToBeBetween(column="ultimo_reporte", min_value=PERIODO_MINIMO,
                                              max_value=_first_of_month(today), strict_max=True)]


def _quality_cuarentena(today: date) -> list:
    return [*_columns(["archivo_origen", "hoja", "fila_origen", "columna", "valor", "motivo"],
                      {"archivo_origen": "texto", "columna": "texto", "motivo": "texto"}),
            # a quarantine record that does not say where and why cannot be fixed by the state
            *_not_null("archivo_origen", "fila_origen", "columna", "motivo"),
            gxe.ExpectColumnValuesToBeBetween(column="fila_origen", min_value=1)]


def _derive_contabilidad(frame: pd.DataFrame) -> Dict[str, pd.Series]:
    n = {c: pd.to_numeric(_get(frame, c), errors="coerce") for c in
         ("leidas", "cargadas", "en_cuarentena", "excluidas")}
    return {"chk_leidas": _number_text(n["leidas"]),
            "chk_suma": _number_text(n["cargadas"] + n["en_cuarentena"] + n["excluidas"])}


def _quality_contabilidad_filas(today: date) -> list:
    counts = ["leidas", "cargadas", "en_cuarentena", "excluidas"]
    return [*_columns(["archivo_origen", "hoja", *counts], {c: "entero" for c in counts}),
            *_not_null("archivo_origen", *counts),
            *_non_negative(*counts),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="chk_leidas", column_B="chk_suma")]


def _derive_cobertura(frame: pd.DataFrame) -> Dict[str, pd.Series]:
    reporto = _get(frame, "reporto_cie").astype("boolean")
    estado = _get(frame, "estado_cie").astype("string")
    esperado = pd.Series(np.where(reporto.fillna(False).to_numpy(bool), "reporto", "sin_reporte"),
                         index=frame.index, dtype=object)
    observado = pd.Series(np.where((estado == "sin_reporte").fillna(False).to_numpy(bool), "sin_reporte",
                                   "reporto"), index=frame.index, dtype=object)
    per_month = _get(frame, "cve_ent").groupby(_get(frame, "periodo")).transform("count") \
        if len(frame) else pd.Series(dtype="int64")
    return {"chk_reporto": observado, "chk_reporto_esperado": esperado,
            "chk_entidades_por_mes": per_month.astype("int64")}


def _quality_cobertura(today: date) -> list:
    return [*_columns(["periodo", "cve_ent", "reporto_cie", "estado_cie", "sesnsp_publico", "cie_instalado"],
                      {"periodo": "fecha", "cve_ent": "texto", "reporto_cie": "booleano",
                       "estado_cie": "texto", "sesnsp_publico": "booleano", "cie_instalado": "booleano"}),
            *_not_null("periodo", "cve_ent", "reporto_cie", "estado_cie", "sesnsp_publico"),
            *_periodo(today),
            _in_set("cve_ent", ENTIDADES),
            _in_set("estado_cie", ["con_cifras", "sin_cifras", "sin_reporte"]),
            _unique("periodo", "cve_ent"),
            # every month lists the 32 states: a missing state would read as "nothing to say"
            gxe.ExpectColumnValuesToBeBetween(column="chk_entidades_por_mes", min_value=32, max_value=32),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="chk_reporto", column_B="chk_reporto_esperado")]


def _quality_archivos_rechazados(today: date) -> list:
    return [*_columns(["archivo_origen", "hoja", "motivo"], {"archivo_origen": "texto", "motivo": "texto"}),
            *_not_null("archivo_origen", "motivo")]


def _quality_filas_excluidas(today: date) -> list:
    return [*_columns(["archivo_origen", "hoja", "fila_origen", "motivo"],
                      {"archivo_origen": "texto", "motivo": "texto"}),
            *_not_null("archivo_origen", "fila_origen", "motivo"),
            _in_set("motivo", sorted(MOTIVOS_EXCLUSION)),
            gxe.ExpectColumnValuesToBeBetween(column="fila_origen", min_value=1)]


def _quality_etiquetas_sin_mapeo(today: date) -> list:
    return [*_columns(["archivo_origen", "columna", "etiqueta", "filas"], {"filas": "entero"}),
            *_not_null("archivo_origen", "columna", "filas"),
            gxe.ExpectColumnValuesToBeBetween(column="filas", min_value=1)]


# Descriptions start with the severity, then say what the suite guards.
_BLOCKING = "ERROR (bloquea: un fallo corrompería el almacén; la corrida se detiene antes de publicar). "
_WARN = ("WARN (no bloquea: lo revisa una persona; el lector ya puso en cuarentena las celdas inválidas y "
         "las tablas de hechos se vuelven a verificar con severidad ERROR). ")

SUITES: dict[str, SuiteSpec] = {spec.name: spec for spec in [
    SuiteSpec("cie_carpetas",
              _WARN + "Carpetas reportadas por los CIE (staging): columnas y tipos, cve_ent 01-32, periodo "
              "desde 2015-01 y anterior al mes en curso, carpetas >= 0 (vacío = no reportado) y filas con "
              f"más de {CONTEO_INUSUAL} carpetas. Los duplicados son registros distintos y no se revisan.",
              _cie_carpetas, blocking=False),
    SuiteSpec("cie_victimas",
              _WARN + "Víctimas reportadas por los CIE (staging): columnas y tipos, cve_ent, periodo, "
              f"víctimas >= 0 y filas con más de {CONTEO_INUSUAL} víctimas. Las etiquetas crudas (forma, "
              "sexo, edad, nacionalidad) las clasifica harmonize.",
              _cie_victimas, blocking=False),
    SuiteSpec("cie_comite",
              _WARN + "Instalación y sesiones del comité (staging): un renglón por entidad tras resolver "
              "reportes reenviados, sesiones y usuarios SINTRA >= 0.",
              _cie_comite, blocking=False),
    SuiteSpec("cie_acuerdos",
              _WARN + "Seguimiento de acuerdos (staging): estatus en Cumplido/En proceso/Pendiente/"
              "Cancelado, (cve_ent, id_acuerdo) único. Un id repetido se aclara con el estado.",
              _cie_acuerdos, blocking=False),
    SuiteSpec("sesnsp_carpetas_estatal",
              _BLOCKING + "SESNSP carpetas por entidad (staging): corte y metodología presentes, periodo <= "
              "corte, carpetas >= 0 no nulas, llave (archivo_origen, periodo, cve_ent, delito) única: una "
              "llave repetida duplicaría cifras.",
              _sesnsp_carpetas_estatal, blocking=True),
    SuiteSpec("sesnsp_victimas_estatal",
              _BLOCKING + "SESNSP víctimas por entidad (staging): como las carpetas; la llave agrega sexo y "
              "rango_edad.",
              _sesnsp_victimas_estatal, blocking=True),
    SuiteSpec("sesnsp_carpetas_municipal",
              _BLOCKING + "SESNSP carpetas por municipio (staging): CVEGEO de 5 dígitos cuyo prefijo es la "
              "cve_ent del renglón, llave (archivo_origen, periodo, cvegeo, delito) única.",
              _sesnsp_carpetas_municipal, blocking=True, derive=_derive_cvegeo),
    SuiteSpec("sesnsp_victimas_municipal",
              _BLOCKING + "SESNSP víctimas por municipio (RNID-2026, staging): como las carpetas municipales; "
              "la llave agrega sexo y rango_edad.",
              _sesnsp_victimas_municipal, blocking=True, derive=_derive_cvegeo),
    SuiteSpec("ageeml",
              _BLOCKING + "Catálogo AGEEML de INEGI: cvegeo único de 5 dígitos con prefijo cve_ent, cve_mun "
              "de 3 dígitos, nombre presente; todo municipio del almacén se une por él.",
              _ageeml, blocking=True, derive=_derive_cvegeo),
    SuiteSpec("poblacion_estatal",
              _BLOCKING + "Población CONAPO por entidad y año: una fila por (archivo, año, entidad), "
              "población positiva (las tasas por 100,000 habitantes dividen entre ella).",
              _poblacion_estatal, blocking=True),
    SuiteSpec("poblacion_municipal",
              _BLOCKING + "Población CONAPO por municipio y año: una fila por (año, CVEGEO) entre todos los "
              "archivos (los dos archivos de CONAPO no deben repetir un municipio-año), CVEGEO de su "
              "entidad, población positiva.",
              _poblacion_municipal, blocking=True, derive=_derive_cvegeo),
    SuiteSpec("fact_carpetas_trata",
              _BLOCKING + "warehouse.fact_carpetas_trata: catálogos (cve_ent, nivel, fuente, metodología "
              "acorde al periodo), carpetas >= 0, CVEGEO válido y de la entidad, linaje (sha256, "
              "fila_origen) completo.",
              _fact_carpetas_trata, blocking=True, derive=_derive_fact),
    SuiteSpec("fact_victimas_trata",
              _BLOCKING + "warehouse.fact_victimas_trata: como fact_carpetas_trata, más forma de "
              "explotación, sexo, grupo de edad y nacionalidad en sus catálogos canónicos.",
              _fact_victimas_trata, blocking=True, derive=_derive_fact),
    SuiteSpec("reconciliacion",
              _BLOCKING + "warehouse.reconciliacion: llave (periodo, cve_ent, medida) única, diferencia = "
              "valor_cie - valor_sesnsp (NULL si falta un lado) y estatus acorde a los valores.",
              _reconciliacion, blocking=True, derive=_derive_reconciliacion),
    SuiteSpec("reconciliacion_municipal",
              _BLOCKING + "warehouse.reconciliacion_municipal: llave (periodo, cvegeo, medida) única, CVEGEO "
              "de la entidad, diferencia y estatus como en reconciliacion.",
              lambda today: _reconciliacion(today, municipal=True), blocking=True,
              derive=_derive_reconciliacion),
    SuiteSpec("dim_entidad",
              _BLOCKING + "warehouse.dim_entidad: exactamente 32 entidades, cve_ent '01'-'32' única, nombres "
              "presentes: toda cifra se une a su entidad por aquí.",
              _dim_entidad, blocking=True),
    SuiteSpec("dim_municipio",
              _BLOCKING + "warehouse.dim_municipio: cvegeo único = cve_ent + cve_mun, cve_mun de 3 dígitos, "
              "EE998 y EE999 en cada entidad con es_real falso (y sólo ellos): todo hecho municipal se une "
              "por cvegeo.",
              _dim_municipio, blocking=True, derive=_derive_dim_municipio_all),
    SuiteSpec("dim_forma_explotacion",
              _BLOCKING + "warehouse.dim_forma_explotacion: exactamente los 13 códigos canónicos (art. 10, "
              "NO_ESPECIFICADA, SIN_CLASIFICAR), únicos, con nombre y categoría UNODC.",
              _dim_forma_explotacion, blocking=True),
    SuiteSpec("reconciliacion_forma",
              _BLOCKING + "warehouse.reconciliacion_forma: llave (periodo, cve_ent, forma_explotacion) única, "
              "forma en el catálogo, diferencia y estatus acordes a los valores.",
              _reconciliacion_forma, blocking=True, derive=_derive_reconciliacion),
    SuiteSpec("cie_estatus",
              _BLOCKING + "warehouse.cie_estatus: siempre 32 filas, una por entidad; conteos >= 0, acuerdos "
              "cumplidos <= acuerdos_total, último reporte anterior al mes en curso. Es la tabla de los "
              "compromisos de 2023: una entidad ausente desaparecería del seguimiento.",
              _cie_estatus, blocking=True, derive=_derive_cie_estatus),
    SuiteSpec("quality_cuarentena",
              "WARN (no bloquea: es el registro de lo que no se cargó; un registro incompleto se corrige en el "
              "lector, no detiene la publicación). quality.cuarentena: archivo, fila (>= 1), columna y motivo "
              "presentes en cada celda.",
              _quality_cuarentena, blocking=False),
    SuiteSpec("quality_contabilidad_filas",
              _BLOCKING + "quality.contabilidad_filas: por archivo y hoja leidas = cargadas + en_cuarentena + "
              "excluidas, todas >= 0: un descuadre es una fila perdida o contada dos veces.",
              _quality_contabilidad_filas, blocking=True, derive=_derive_contabilidad),
    SuiteSpec("quality_cobertura",
              _BLOCKING + "quality.cobertura: 32 entidades en cada mes, (periodo, cve_ent) único, estado_cie "
              "en con_cifras/sin_cifras/sin_reporte y acorde a reporto_cie: es la tabla que dice quién no "
              "reportó.",
              _quality_cobertura, blocking=True, derive=_derive_cobertura),
    SuiteSpec("quality_archivos_rechazados",
              "WARN (no bloquea: lista lo que una persona revisa). quality.archivos_rechazados: archivo y "
              "motivo presentes en cada rechazo.",
              _quality_archivos_rechazados, blocking=False),
    SuiteSpec("quality_filas_excluidas",
              "WARN (no bloquea: lista lo que una persona revisa). quality.filas_excluidas: archivo, fila y un "
              "motivo del catálogo (total, vacia, nota, encabezado_repetido, reemplazada, "
              "delito_fuera_de_alcance, fila_rota).",
              _quality_filas_excluidas, blocking=False),
    SuiteSpec("quality_etiquetas_sin_mapeo",
              "WARN (no bloquea: las filas ya se cargaron como SIN_CLASIFICAR / EE998 / …). "
              "quality.etiquetas_sin_mapeo: archivo, columna y filas >= 1 en cada etiqueta.",
              _quality_etiquetas_sin_mapeo, blocking=False),
]}

# Which suite validates each published table inside the publish step, before anything is written. A table
# without an entry (warehouse.cargas, built by the publish step itself; tables added later) is not validated.
TABLE_SUITES: dict[str, str] = {
    "warehouse.dim_entidad": "dim_entidad",
    "warehouse.dim_municipio": "dim_municipio",
    "warehouse.dim_forma_explotacion": "dim_forma_explotacion",
    "warehouse.fact_carpetas_trata": "fact_carpetas_trata",
    "warehouse.fact_victimas_trata": "fact_victimas_trata",
    "warehouse.reconciliacion": "reconciliacion",
    "warehouse.reconciliacion_municipal": "reconciliacion_municipal",
    "warehouse.reconciliacion_forma": "reconciliacion_forma",
    "warehouse.cie_estatus": "cie_estatus",
    "warehouse.cie_acuerdos": "cie_acuerdos",
    "warehouse.poblacion_estatal": "poblacion_estatal",
    "quality.cuarentena": "quality_cuarentena",
    "quality.contabilidad_filas": "quality_contabilidad_filas",
    "quality.cobertura": "quality_cobertura",
    "quality.archivos_rechazados": "quality_archivos_rechazados",
    "quality.filas_excluidas": "quality_filas_excluidas",
    "quality.etiquetas_sin_mapeo": "quality_etiquetas_sin_mapeo",
}
