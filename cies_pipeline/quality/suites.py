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
from typing import Any, Callable, ClassVar, Dict, Literal, Optional, Tuple  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

import great_expectations.expectations as gxe  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from great_expectations.expectations.expectation import BatchExpectation  # noqa: E402

from cies_pipeline.settings import TIMEZONE  # noqa: E402

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


# -- a dtype expectation that understands pandas' nullable and pandas 3 string dtypes ---------------
class ExpectColumnDtypeKind(BatchExpectation):
    """Expect the column's pandas dtype to be of a kind: texto, entero, fecha, booleano or numero.

    GX's `expect_column_values_to_be_in_type_list` compares dtype objects and does not recognise pandas
    3's default `str` dtype nor `Int64`; here the kind is decided by `pandas.api.types`. Text may also
    be `object` (None-filled columns). An empty frame's columns are often `object` (nothing to infer
    from), so with zero rows `object` is accepted for every kind.
    """

    column: str
    kind: Literal["texto", "entero", "fecha", "booleano", "numero"]

    metric_dependencies: ClassVar[Tuple[str, ...]] = ("table.column_types", "table.row_count")
    success_keys: ClassVar[Tuple[str, ...]] = ("column", "kind")
    domain_keys: ClassVar[Tuple[str, ...]] = ("batch_id",)
    args_keys: ClassVar[Tuple[str, ...]] = ("column", "kind")

    def _validate(self, metrics: Dict, runtime_configuration: Optional[dict] = None,
                  execution_engine: Any = None) -> Dict:
        column = self.configuration.kwargs["column"]
        kind = self.configuration.kwargs["kind"]
        found = [t["type"] for t in metrics["table.column_types"] if t["name"] == column]
        if not found:
            return {"success": False, "result": {"observed_value": "columna ausente"}}
        dtype = found[0]
        return {"success": dtype_is_kind(dtype, kind, empty=metrics["table.row_count"] == 0),
                "result": {"observed_value": str(dtype)}}


def dtype_is_kind(dtype: Any, kind: str, empty: bool = False) -> bool:
    api = pd.api.types
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
    expectations: list = [gxe.ExpectColumnToExist(column=c) for c in columns]
    expectations += [ExpectColumnDtypeKind(column=c, kind=k) for c, k in kinds.items()]
    return expectations


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
    cvegeo = _get(frame, "cvegeo").astype("string")
    return {"chk_entidad_de_cvegeo": cvegeo.str.slice(0, 2).astype(object).where(cvegeo.notna(), None)}


def _derive_metodologia(frame: pd.DataFrame) -> Dict[str, pd.Series]:
    periodo = pd.to_datetime(_get(frame, "periodo"), errors="coerce")
    esperada = pd.Series(np.where(periodo >= RNID_DESDE, "RNID-2026", "CNSP-38-15"), index=frame.index,
                         dtype=object)
    return {"chk_metodologia_segun_periodo": esperada.where(periodo.notna(), None)}


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
    SuiteSpec("ageeml",
              _BLOCKING + "Catálogo AGEEML de INEGI: cvegeo único de 5 dígitos con prefijo cve_ent, cve_mun "
              "de 3 dígitos, nombre presente; todo municipio del almacén se une por él.",
              _ageeml, blocking=True, derive=_derive_cvegeo),
    SuiteSpec("poblacion_estatal",
              _BLOCKING + "Población CONAPO por entidad y año: una fila por (archivo, año, entidad), "
              "población positiva (las tasas por 100,000 habitantes dividen entre ella).",
              _poblacion_estatal, blocking=True),
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
]}
