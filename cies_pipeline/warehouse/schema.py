"""The warehouse contract, once: every table and column with its type and description.

DDL, the Dagster column schemas shown in the UI and the data dictionary (docs/data_dictionary.md, written by
`cies-pipeline data-dictionary`) are all derived from this module. Types are portable names that
`warehouse/resource.py` renders per dialect.
"""
from __future__ import annotations

from dataclasses import dataclass

LINEAGE = [
    ("archivo_origen", "text", "Archivo de entrada del que viene la fila (ruta relativa a su carpeta de entrada)."),
    ("archivo_sha256", "text", "sha256 del archivo de entrada: identifica la versión exacta leída."),
    ("hoja", "text", "Hoja del libro de Excel (o tipo de CSV del juego); nulo en archivos SESNSP."),
    ("fila_origen", "bigint", "Número de fila como lo muestra una hoja de cálculo (encabezado y títulos cuentan)."),
]
RUN = [
    ("run_id", "text", "Ejecución de Dagster que escribió la fila por última vez."),
    ("cargado_en", "timestamp", "Momento (UTC) en que se escribió la fila."),
]


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # text | bigint | double | date | timestamp | boolean
    description: str


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    description: str
    columns: tuple[Column, ...]
    # Tables that keep their history instead of being replaced on each refresh.
    append_only: bool = False
    # Columns whose values repeat for every row of a source file (its lineage, level, source, methodology…).
    # On DuckDB the table is a view over two tables: `<name>__filas`, the other columns and `origen`, and
    # `<name>__origen`, one row per distinct combination of these columns (resource._insert_duckdb_split).
    por_origen: tuple[str, ...] = ()

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def tablas_duckdb(self) -> tuple[str, str]:
        """The two tables behind a table with `por_origen` columns on DuckDB: (its rows, their origins)."""
        return f"{self.name}__filas", f"{self.name}__origen"


def _table(schema: str, name: str, description: str, columns: list[tuple[str, str, str]],
           append_only: bool = False, por_origen: tuple[str, ...] = ()) -> Table:
    table = Table(schema, name, description, tuple(Column(*c) for c in columns), append_only, por_origen)
    unknown = set(por_origen) - set(table.column_names)
    if unknown:
        raise ValueError(f"{table.qualified}: por_origen names columns it does not have: {sorted(unknown)}")
    return table


# The facts' columns that hold one value per source file (or a handful): lineage, level, source, methodology.
_POR_ORIGEN = ("nivel", "fuente", "metodologia", "versiones_crosswalk", "archivo_origen", "archivo_sha256", "hoja",
               "corte", "run_id", "cargado_en")


_PERIODO = ("periodo", "date", "Mes de los hechos (primer día del mes).")
_CVE_ENT = ("cve_ent", "text", "Clave INEGI de la entidad, '01'-'32'.")
_CVEGEO = ("cvegeo", "text", "Clave INEGI del municipio (5 caracteres); EE998 = no especificado, "
                             "EE999 = otros municipios; nulo en cifras estatales.")
_NIVEL = ("nivel", "text", "'estatal' (archivo estatal SESNSP) o 'municipal' (por municipio). "
                           "Sumar sólo un nivel por fuente para no contar dos veces.")
_FUENTE = ("fuente", "text", "'CIE' (reporte del comité estatal) o 'SESNSP' (datos abiertos).")
_METODOLOGIA = ("metodologia", "text", "'CNSP-38-15' (2015-2025) o 'RNID-2026' (desde enero de 2026).")
_CORTE = ("corte", "date", "Mes de publicación del archivo SESNSP (nulo en cifras CIE).")
_MEDIDA = ("medida", "text", "'carpetas' o 'victimas'.")
_VALOR_CIE = ("valor_cie", "bigint", "Suma de lo que reportó el CIE; nulo si no reportó cifra.")
_VALOR_SESNSP = ("valor_sesnsp", "bigint", "Cifra de trata de personas del SESNSP; nulo si no publicó.")
_DIFERENCIA = ("diferencia", "bigint", "valor_cie - valor_sesnsp; nulo salvo que ambos tengan cifra.")
_ESTATUS = ("estatus", "text", "coincide | discrepa | sin_reporte_cie | sin_dato_sesnsp.")
_VERSIONES_CROSSWALK = ("versiones_crosswalk", "text", "Versión (sha256, 12 dígitos) de cada crosswalk que "
                        "clasificó la fila: 'formas_explotacion@ab12cd34ef56;sexo@…'. Nulo en cifras SESNSP de "
                        "carpetas (vienen con claves).")

TABLES: dict[str, Table] = {t.qualified: t for t in [
    # -- warehouse ------------------------------------------------------------------------------
    _table("warehouse", "dim_entidad", "Las 32 entidades federativas con sus nombres.", [
        _CVE_ENT,
        ("nombre", "text", "Nombre oficial (INEGI)."),
        ("nombre_corto", "text", "Nombre de uso común."),
        ("abreviatura", "text", "Abreviatura usual."),
    ]),
    _table("warehouse", "dim_municipio", "Municipios del catálogo AGEEML y los pseudo-municipios EE998/EE999.", [
        ("cvegeo", "text", "Clave INEGI de 5 caracteres (EE998/EE999 son pseudo-claves por entidad)."),
        _CVE_ENT,
        ("cve_mun", "text", "Clave del municipio dentro de la entidad, 3 caracteres."),
        ("nombre", "text", "Nombre oficial del municipio."),
        ("es_real", "boolean", "Falso para EE998 (no especificado) y EE999 (otros municipios)."),
    ]),
    _table("warehouse", "dim_forma_explotacion", "Formas de explotación del art. 10 de la Ley General de trata.", [
        ("codigo", "text", "Código canónico (EXPLOTACION_SEXUAL, …, NO_ESPECIFICADA, SIN_CLASIFICAR)."),
        ("fraccion_art10", "text", "Fracción del art. 10 (I-XI); vacía para NO_ESPECIFICADA y SIN_CLASIFICAR."),
        ("nombre", "text", "Nombre en la ley."),
        ("categoria_unodc", "text", "Categoría UNODC GLOTIP."),
    ]),
    _table("warehouse", "fact_carpetas_trata", "Carpetas de investigación por trata de personas, por mes, "
           "entidad y municipio, de ambas fuentes, con su linaje.", [
        _PERIODO, _CVE_ENT, _CVEGEO, _NIVEL, _FUENTE, _METODOLOGIA,
        ("carpetas", "bigint", "Carpetas iniciadas; nulo = el CIE dejó la celda en blanco (no reportado)."),
        ("municipio_regla", "text", "Cómo se resolvió el municipio (codigo, exacta, normalizada, prefijo, "
                                    "aproximada, vacio, ambigua, sin_resolver)."),
        _VERSIONES_CROSSWALK,
        *LINEAGE, _CORTE, *RUN,
    ], por_origen=(*_POR_ORIGEN, "municipio_regla")),
    _table("warehouse", "fact_victimas_trata", "Víctimas de trata de personas por mes, entidad, municipio, forma "
           "de explotación, sexo, edad y nacionalidad, con su linaje. Detalle completo: sólo para el pipeline.", [
        _PERIODO, _CVE_ENT, _CVEGEO, _NIVEL, _FUENTE, _METODOLOGIA,
        ("forma_explotacion", "text", "Código de dim_forma_explotacion."),
        ("sexo", "text", "Mujer | Hombre | No identificado."),
        ("grupo_edad", "text", "Menores de edad (0-17) | Adultos (18 y más) | No especificado."),
        ("grupo_edad_detalle", "text", "Rango fino cuando la fuente lo tiene (2026: 0 a 12 años, …)."),
        ("nacionalidad", "text", "Mexicana | Extranjera | No especificada."),
        ("pais", "text", "País de origen cuando se indicó."),
        ("victimas", "bigint", "Víctimas; nulo = el CIE dejó la celda en blanco (no reportado)."),
        ("reglas", "text", "Qué regla del crosswalk clasificó cada dimensión."),
        _VERSIONES_CROSSWALK,
        *LINEAGE, _CORTE, *RUN,
    ], por_origen=_POR_ORIGEN),
    _table("warehouse", "reconciliacion", "CIE contra SESNSP por entidad, mes y medida (domain.md sección 5).", [
        _PERIODO, _CVE_ENT, _MEDIDA, _VALOR_CIE, _VALOR_SESNSP, _DIFERENCIA, _ESTATUS, *RUN,
    ]),
    _table("warehouse", "reconciliacion_municipal", "CIE contra SESNSP por municipio, mes y medida.", [
        _PERIODO, _CVE_ENT, ("cvegeo", "text", "Municipio (EE998 = no especificado)."), _MEDIDA,
        _VALOR_CIE, _VALOR_SESNSP, _DIFERENCIA, _ESTATUS, *RUN,
    ]),
    _table("warehouse", "reconciliacion_forma", "Víctimas CIE contra SESNSP por forma de explotación "
           "(desde 2026, donde el SESNSP publica formas).", [
        _PERIODO, _CVE_ENT, ("forma_explotacion", "text", "Código de dim_forma_explotacion."),
        _VALOR_CIE, _VALOR_SESNSP, _DIFERENCIA, _ESTATUS, *RUN,
    ]),
    _table("warehouse", "cie_estatus", "Una fila por entidad (siempre 32): instalación del CIE, sesiones, "
           "acuerdos y SINTRA según su último reporte.", [
        _CVE_ENT,
        ("instalado", "boolean", "¿Está instalado el CIE? Nulo = desconocido (no ha reportado)."),
        ("fecha_instalacion", "date", "Fecha de instalación."),
        ("instrumento_juridico", "text", "Instrumento jurídico de creación."),
        ("sesiones_ordinarias", "bigint", "Sesiones ordinarias celebradas."),
        ("sesiones_extraordinarias", "bigint", "Sesiones extraordinarias celebradas."),
        ("fecha_ultima_sesion", "date", "Fecha de la última sesión."),
        ("acuerdos_total", "bigint", "Acuerdos registrados, sin los cancelados."),
        ("acuerdos_cumplidos", "bigint", "Acuerdos con estatus Cumplido."),
        ("usuarios_sintra_asignados", "bigint", "Usuarios de SINTRA asignados."),
        ("usuarios_sintra_capacitados", "bigint", "Usuarios de SINTRA capacitados."),
        ("fecha_primera_carga_sintra", "date", "Primera carga de información en SINTRA."),
        ("ultimo_reporte", "date", "Último periodo que el CIE reportó (carpetas o víctimas)."),
        ("archivo_origen", "text", "Reporte del que vienen los datos del comité."),
        *RUN,
    ]),
    _table("warehouse", "cie_acuerdos", "Acuerdos de los CIE y su seguimiento.", [
        _CVE_ENT,
        ("id_acuerdo", "text", "Identificador del acuerdo que usa el CIE."),
        ("fecha_sesion", "date", "Sesión en que se tomó."),
        ("descripcion", "text", "Texto del acuerdo."),
        ("responsable", "text", "Área o institución responsable."),
        ("estatus", "text", "Cumplido | En proceso | Pendiente | Cancelado."),
        ("fecha_compromiso", "date", "Fecha comprometida."),
        *LINEAGE, *RUN,
    ]),
    _table("warehouse", "poblacion_estatal", "Población a mitad de año por entidad (CONAPO).", [
        ("anio", "bigint", "Año."),
        ("cve_ent", "text", "Entidad ('00' = nacional)."),
        ("poblacion", "bigint", "Habitantes a mitad de año."),
        ("archivo_origen", "text", "Archivo CONAPO."), ("archivo_sha256", "text", "sha256 del archivo."),
        *RUN,
    ]),
    _table("warehouse", "indicadores", "Carpetas y víctimas de trata por 100,000 habitantes, por entidad y año y "
           "por municipio y año, de cada fuente, con la población usada (CONAPO). Un año en curso suma sólo "
           "los meses publicados.", [
        ("nivel", "text", "'estatal' o 'municipal'."),
        ("anio", "bigint", "Año de los hechos."),
        _CVE_ENT,
        ("cvegeo", "text", "Municipio (nivel municipal; EE998/EE999 sin población); nulo en nivel estatal."),
        _FUENTE,
        _MEDIDA,
        ("valor", "bigint", "Carpetas o víctimas en el año (suma de las cifras no vacías; nulo si todas "
                            "vacías). SESNSP estatal: archivo estatal; municipal: archivo municipal."),
        ("poblacion", "bigint", "Población a mitad de año (CONAPO) de la entidad o el municipio; nulo si no "
                                "se tiene."),
        ("tasa_100k", "double", "valor / poblacion × 100,000; nulo si falta alguno."),
        *RUN,
    ]),
    _table("warehouse", "cargas", "Una fila por refresco: qué se leyó y con qué versiones.", [
        ("run_id", "text", "Ejecución de Dagster."),
        ("iniciado", "timestamp", "Inicio de la publicación (UTC)."),
        ("terminado", "timestamp", "Fin de la publicación (UTC)."),
        ("archivos", "text", "JSON: archivos de entrada con su sha256 y tipo."),
        ("corte", "date", "Último mes publicado por el SESNSP en los archivos leídos."),
        ("versiones_crosswalk", "text", "JSON: versión de cada crosswalk."),
        ("version_codigo", "text", "Versión de cies-pipeline."),
        ("filas", "text", "JSON: filas escritas por tabla."),
    ], append_only=True),
    _table("warehouse", "victimas_municipio_supresion", "Víctimas por mes, municipio, forma de explotación, sexo "
           "y grupo de edad (más fino que lo que publica el SESNSP) con la marca de supresión de celdas pequeñas "
           "(domain.md sección 7). Sólo para el pipeline: los analistas leen publicado.victimas_municipio.", [
        _PERIODO, _CVE_ENT, ("cvegeo", "text", "Municipio (EE998 = no especificado)."), _FUENTE, _METODOLOGIA,
        ("forma_explotacion", "text", "Código de dim_forma_explotacion."),
        ("sexo", "text", "Mujer | Hombre | No identificado."),
        ("grupo_edad", "text", "Menores de edad (0-17) | Adultos (18 y más) | No especificado."),
        ("victimas", "bigint", "Suma de víctimas de la celda; nulo = no reportado."),
        ("suprimida", "boolean", "La celda no se publica (primaria o secundaria)."),
        ("motivo_supresion", "text", "'primaria' (1 a umbral víctimas), 'secundaria' (para que no se pueda "
                                     "recalcular otra celda desde un total publicado) o nulo."),
        ("umbral", "bigint", "Umbral de supresión primaria usado (CIES_UMBRAL_SUPRESION, 4 por omisión)."),
        *RUN,
    ]),
    _table("warehouse", "indicadores_supresion", "warehouse.indicadores con la marca de supresión: víctimas de "
           "un municipio en un año de 1 a umbral (y su tasa) no se publican; sólo para el pipeline: los "
           "analistas leen publicado.indicadores.", [
        ("nivel", "text", "'estatal' o 'municipal'."), ("anio", "bigint", "Año de los hechos."), _CVE_ENT,
        ("cvegeo", "text", "Municipio (nivel municipal); nulo en nivel estatal."), _FUENTE, _MEDIDA,
        ("valor", "bigint", "Carpetas o víctimas en el año."),
        ("poblacion", "bigint", "Población a mitad de año (CONAPO)."),
        ("tasa_100k", "double", "valor / poblacion × 100,000."),
        ("suprimida", "boolean", "La cifra y su tasa no se publican."),
        ("motivo_supresion", "text", "'primaria', 'secundaria' o nulo."),
        ("umbral", "bigint", "Umbral de supresión primaria usado."),
        *RUN,
    ]),
    # -- quality --------------------------------------------------------------------------------
    _table("quality", "cuarentena", "Una fila por celda que no pasó: la fila completa (CIE) o el mes (SESNSP) "
           "queda fuera.", [
        ("archivo_origen", "text", "Archivo."), ("hoja", "text", "Hoja."),
        ("fila_origen", "bigint", "Fila como la muestra una hoja de cálculo."),
        ("columna", "text", "Columna (como está escrita en el archivo)."),
        ("valor", "text", "Valor encontrado (nunca un dato personal)."),
        ("motivo", "text", "Por qué no se cargó."),
        ("run_id", "text", "Ejecución de Dagster."),
    ]),
    _table("quality", "etiquetas_sin_mapeo", "Etiquetas que ningún crosswalk conoce; sus filas se cargan como "
           "SIN_CLASIFICAR / EE998 / No identificado / No especificado.", [
        ("archivo_origen", "text", "Archivo."), ("columna", "text", "Dimensión."),
        ("etiqueta", "text", "Etiqueta tal como se escribió."), ("filas", "bigint", "Filas con esa etiqueta."),
        ("run_id", "text", "Ejecución de Dagster."),
    ]),
    _table("quality", "archivos_rechazados", "Archivos u hojas que no se pudieron leer.", [
        ("archivo_origen", "text", "Archivo."), ("hoja", "text", "Hoja (nula si es el archivo entero)."),
        ("motivo", "text", "Por qué se rechazó."), ("run_id", "text", "Ejecución de Dagster."),
    ]),
    _table("quality", "columnas_rechazadas", "Columnas de datos personales rechazadas y columnas ocultas o "
           "desconocidas ignoradas. Sus valores nunca se guardan.", [
        ("archivo_origen", "text", "Archivo."), ("hoja", "text", "Hoja."),
        ("columna", "text", "Encabezado de la columna."), ("motivo", "text", "dato_personal, columna_oculta, …"),
        ("run_id", "text", "Ejecución de Dagster."),
    ]),
    _table("quality", "filas_excluidas", "Filas leídas que no son datos: totales, notas, encabezados repetidos, "
           "reportes reemplazados, filas vacías o rotas.", [
        ("archivo_origen", "text", "Archivo."), ("hoja", "text", "Hoja."),
        ("fila_origen", "bigint", "Fila."), ("motivo", "text", "total, nota, encabezado_repetido, reemplazada, …"),
        ("run_id", "text", "Ejecución de Dagster."),
    ]),
    _table("quality", "contabilidad_filas", "Por archivo y hoja: leidas = cargadas + en_cuarentena + excluidas.", [
        ("archivo_origen", "text", "Archivo."), ("hoja", "text", "Hoja."),
        ("leidas", "bigint", "Filas físicas no vacías debajo del encabezado."),
        ("cargadas", "bigint", "Filas cargadas."), ("en_cuarentena", "bigint", "Filas en cuarentena."),
        ("excluidas", "bigint", "Filas excluidas con motivo (incluye delitos fuera de alcance, contados)."),
        ("run_id", "text", "Ejecución de Dagster."),
    ]),
    _table("quality", "cobertura", "Una fila por entidad (las 32) y mes del rango reconciliado: ¿reportó el "
           "CIE, publicó el SESNSP, está instalado el CIE?", [
        _PERIODO, _CVE_ENT,
        ("reporto_cie", "boolean", "El CIE envió filas (carpetas o víctimas) de ese mes, tras resolver reenvíos."),
        ("estado_cie", "text", "con_cifras | sin_cifras (envió filas con todas las cifras en blanco) | "
                               "sin_reporte."),
        ("sesnsp_publico", "boolean", "El archivo estatal del SESNSP tiene cifra de la entidad en ese mes."),
        ("cie_instalado", "boolean", "¿Está instalado el CIE? (de cie_estatus; nulo = desconocido)."),
        ("run_id", "text", "Ejecución de Dagster."),
    ]),
]}

WAREHOUSE_TABLES = [t for t in TABLES.values() if t.schema == "warehouse"]
QUALITY_TABLES = [t for t in TABLES.values() if t.schema == "quality"]


@dataclass(frozen=True)
class View:
    """A view of schema `publicado` (what analysts read): a plain SELECT over warehouse tables, created in
    the same transaction as each publish. `sql` names tables schema-qualified and quoted; portable SQL."""
    schema: str
    name: str
    description: str
    columns: tuple[Column, ...]
    sql: str
    sources: tuple[str, ...]  # qualified tables it reads: created only once they all exist

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


VIEWS: dict[str, View] = {v.qualified: v for v in [
    View("publicado", "victimas_municipio",
         "Víctimas por mes, municipio, forma de explotación, sexo y grupo de edad, con las celdas pequeñas "
         "suprimidas (victimas nulo y suprimida verdadero). Sumar sólo celdas publicadas no da los totales "
         "de la entidad: úsense reconciliacion o los archivos del SESNSP para totales.",
         tuple(Column(*c) for c in [
             _PERIODO, _CVE_ENT, ("cvegeo", "text", "Municipio (EE998 = no especificado)."), _FUENTE,
             _METODOLOGIA, ("forma_explotacion", "text", "Código de dim_forma_explotacion."),
             ("sexo", "text", "Mujer | Hombre | No identificado."),
             ("grupo_edad", "text", "Menores de edad (0-17) | Adultos (18 y más) | No especificado."),
             ("victimas", "bigint", "Víctimas; nulo si la celda está suprimida o no se reportó."),
             ("suprimida", "boolean", "Verdadero: la cifra se suprimió para proteger a las víctimas."),
         ]),
         'SELECT periodo, cve_ent, cvegeo, fuente, metodologia, forma_explotacion, sexo, grupo_edad, '
         'CASE WHEN suprimida THEN NULL ELSE victimas END AS victimas, suprimida '
         'FROM "warehouse"."victimas_municipio_supresion"',
         ("warehouse.victimas_municipio_supresion",)),
    View("publicado", "indicadores",
         "Carpetas y víctimas por 100,000 habitantes por entidad y municipio y año (warehouse.indicadores), "
         "con las víctimas municipales de 1 a umbral suprimidas junto con su tasa (valor y tasa_100k nulos).",
         tuple(Column(*c) for c in [
             ("nivel", "text", "'estatal' o 'municipal'."), ("anio", "bigint", "Año de los hechos."), _CVE_ENT,
             ("cvegeo", "text", "Municipio (nivel municipal); nulo en nivel estatal."), _FUENTE, _MEDIDA,
             ("valor", "bigint", "Carpetas o víctimas en el año; nulo si suprimida."),
             ("poblacion", "bigint", "Población a mitad de año (CONAPO)."),
             ("tasa_100k", "double", "Tasa por 100,000 habitantes; nula si suprimida."),
             ("suprimida", "boolean", "Verdadero: la cifra y su tasa se suprimieron."),
         ]),
         'SELECT nivel, anio, cve_ent, cvegeo, fuente, medida, CASE WHEN suprimida THEN NULL ELSE valor END '
         'AS valor, poblacion, CASE WHEN suprimida THEN NULL ELSE tasa_100k END AS tasa_100k, suprimida '
         'FROM "warehouse"."indicadores_supresion"',
         ("warehouse.indicadores_supresion",)),
]}


def table(qualified: str) -> Table:
    return TABLES[qualified]


def data_dictionary_markdown() -> str:
    """The data dictionary page, generated from TABLES."""
    lines = ["# Diccionario de datos del warehouse", "",
             "Generado desde `cies_pipeline/warehouse/schema.py` (`cies-pipeline data-dictionary`). "
             "No editar a mano.", "",
             "Las filas de una tabla no tienen un orden guardado (SQL no lo garantiza, y la publicación en "
             "PostgreSQL las escribe desde dos hilos): una consulta que necesite un orden lo pide con `ORDER BY`.",
             ""]
    for t in TABLES.values():
        lines += [f"## `{t.qualified}`", "", t.description, "", "| columna | tipo | descripción |",
                  "| --- | --- | --- |"]
        lines += [f"| {c.name} | {c.type} | {c.description} |" for c in t.columns]
        lines.append("")
        if t.por_origen:
            filas, origen = (f"{t.schema}.{name}" for name in t.tablas_duckdb)
            lines += [f"En DuckDB es una vista con estas columnas sobre dos tablas: `{filas}` (las "
                      f"demás columnas y `origen`) y `{origen}` (`origen` y "
                      f"{', '.join(f'`{c}`' for c in t.por_origen)}: una fila por combinación distinta, pues "
                      "se repiten en cada fila de un archivo). Se consulta la vista; en PostgreSQL es una tabla.",
                      ""]
    for v in VIEWS.values():
        lines += [f"## `{v.qualified}` (vista)", "", v.description, "",
                  f"Lee: {', '.join(f'`{s}`' for s in v.sources)}.", "", "| columna | tipo | descripción |",
                  "| --- | --- | --- |"]
        lines += [f"| {c.name} | {c.type} | {c.description} |" for c in v.columns]
        lines.append("")
    return "\n".join(lines)
