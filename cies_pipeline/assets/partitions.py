"""Group `particiones`: a state's report by state, the SESNSP figures by year, each reported on its own.

`particiones/reporte_estado` (32 partitions, '01'-'32') reads the inbox through the cache (memo.py): only new
or changed files are parsed, unchanged ones come from the cache, so a new report from one state reads that
state's files only. A partition reports THAT state's slice: its files (and which were reused from the cache),
rows per kind, quarantined cells, months covered, with the row accounting of its files as a blocking check.

`particiones/sesnsp_anual` (one partition per year, 2015-2025 CNSP-38-15 and 2026 RNID-2026) reads the SESNSP
folder through the cache and reports one year's slice: rows per kind, months published, files and release
month (`corte`).

Both have a single-run backfill policy: a range backfill launched from the UI is ONE run that reads the
folder once and reports every partition of the range (`context.partition_keys`). The national tables are
not built here: these assets are outside the `refresh` job (a job cannot mix partitions definitions), and
the run-status sensor `particion_a_nacional` (automation.py) starts the national refresh after a successful
partition run; thanks to the cache that refresh reads only what changed.

A partition's value is a small summary, `{partition key: summary dict}` (one entry per partition of the run),
stored by `ParticionesIOManager` one pickle per partition: Dagster's default IO manager refuses an output
that covers several partitions (a single-run backfill).
"""

import datetime as dt
import pickle
from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import PrivateAttr

from cies_pipeline.assets.common import CiesResource, preview
from cies_pipeline.memo import atomic_pickle
from cies_pipeline.sources.common import SourceResult
from cies_pipeline.sources.sesnsp import METODOLOGIA, METODOLOGIA_RNID, RNID_DESDE_ANIO, read_sesnsp_dir
from cies_pipeline.sources.state_reports import KINDS, read_state_report, read_state_reports

GROUP = "particiones"
IO_MANAGER_KEY = "particiones_io_manager"
REPORTE_ESTADO_KEY = dg.AssetKey([GROUP, "reporte_estado"])
SESNSP_ANUAL_KEY = dg.AssetKey([GROUP, "sesnsp_anual"])

ESTADOS = [f"{n:02d}" for n in range(1, 33)]
PRIMER_ANIO, ULTIMO_ANIO = 2015, 2026   # add a year here when SESNSP starts publishing it
ANIOS = [str(y) for y in range(PRIMER_ANIO, ULTIMO_ANIO + 1)]
estados_partitions = dg.StaticPartitionsDefinition(ESTADOS)
anios_partitions = dg.StaticPartitionsDefinition(ANIOS)


# -- the value: one small pickle per partition ------------------------------------------------------------
class ParticionesIOManager(dg.ConfigurableIOManager):
    """Stores an output `{partition key: value}` as one pickle per partition, at the path Dagster's
    filesystem IO manager uses (`<storage>/<asset key path>/<partition key>`); loads `{key: value}` for the
    partitions asked for. Unlike the default IO manager it accepts an output that covers several partitions
    (a single-run backfill). `base_dir`: default, the Dagster instance's storage directory."""

    base_dir: str | None = None
    _root: Path | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if self.base_dir:
            self._root = Path(self.base_dir)
        elif context.instance is not None:
            self._root = Path(context.instance.storage_directory())

    def _path(self, asset_key: dg.AssetKey, partition: str) -> Path:
        if self._root is None:
            raise dg.DagsterInvariantViolationError("ParticionesIOManager sin carpeta: dé base_dir")
        return self._root.joinpath(*asset_key.path, partition)

    def handle_output(self, context: dg.OutputContext, obj: dict) -> None:
        keys = list(context.asset_partition_keys)
        missing = [k for k in keys if k not in obj]
        if missing:
            raise dg.DagsterInvariantViolationError(
                f"{context.asset_key.to_user_string()}: falta el valor de las particiones {missing}")
        for key in keys:
            atomic_pickle(self._path(context.asset_key, key), obj[key])
        context.add_output_metadata({"carpeta": dg.MetadataValue.path(
            str(self._path(context.asset_key, keys[0]).parent))})

    def load_input(self, context: dg.InputContext) -> dict:
        values = {}
        for key in context.asset_partition_keys:
            with open(self._path(context.asset_key, key), "rb") as f:
                values[key] = pickle.load(f)
        return values


# -- which state a report file belongs to -----------------------------------------------------------------
def _estados_en(result: SourceResult) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for frame in result.frames.values():
        if not len(frame) or "cve_ent" not in frame:
            continue
        pairs = frame[["archivo_origen", "cve_ent"]].dropna().drop_duplicates()
        for archivo, cve in pairs.itertuples(index=False):
            found.setdefault(str(archivo), set()).add(str(cve))
    return found


def estados_por_archivo(result: SourceResult, inbox: Path, today: dt.date,
                        solo: set[str] | None = None) -> dict[str, set[str]]:
    """{archivo_origen: states (cve_ent) of its rows}, from the frames of `read_state_reports`.

    A file none of whose rows is in the frames (all replaced by a newer report of the same state, or all
    quarantined) is read again alone (`read_state_report`, no cache), where nothing replaces it; `solo`
    limits that to the files named. A rejected or unreadable file has no state: it is absent."""
    found = _estados_en(result)
    rejected = {r["archivo_origen"] for r in result.rechazados if r["hoja"] is None}
    for record in result.archivos:
        archivo = record["archivo_origen"]
        if archivo in found or archivo in rejected or (solo is not None and archivo not in solo):
            continue
        path = Path(inbox) / archivo
        if not path.is_file():
            continue
        try:
            alone = read_state_report(path, inbox, today)
        except Exception:   # the reader never raises for a bad file; if it did, the file has no state
            continue
        found.update({a: s for a, s in _estados_en(alone).items() if a == archivo})
    return found


def _meses(periodos: pd.Series) -> list[str]:
    return sorted({f"{p:%Y-%m}" for p in pd.to_datetime(periodos.dropna()).unique()})


def _span(meses: list[str]) -> str:
    if not meses:
        return "(ninguno)"
    return f"{meses[0]} … {meses[-1]} ({len(meses)})" if len(meses) > 1 else meses[0]


def _nombres_estados() -> dict[str, str]:
    try:
        from cies_pipeline.harmonize.crosswalks import entidades
        return dict(zip(entidades()["cve_ent"], entidades()["nombre"]))
    except Exception:   # a name is a courtesy: never fail a partition for it
        return {}


# -- particiones/reporte_estado ---------------------------------------------------------------------------
def _por_mes(rows: pd.DataFrame, kind: str) -> dict[str, int | None]:
    """{'YYYY-MM': figure the state reported} (None when every row of the month is blank: not reported)."""
    meses = pd.to_datetime(rows["periodo"]).dt.strftime("%Y-%m")
    sums = rows[kind].groupby(meses).sum(min_count=1)
    return {m: (None if pd.isna(v) else int(v)) for m, v in sums.sort_index().items()}


def _estado_slice(result: SourceResult, cve: str, archivos: list[str], nombre: str) -> tuple[dict, dict]:
    """(metadata, summary) of one state's slice of the inbox."""
    en_archivos = set(archivos)
    inbox_reutilizados = len(set(result.reutilizados))
    reutilizados = sorted(en_archivos & set(result.reutilizados))
    leidos = sorted(en_archivos - set(reutilizados))
    filas, periodos, por_mes = {}, [], {}
    for kind in KINDS:
        frame = result.frames.get(kind)
        rows = frame[frame["cve_ent"] == cve] if frame is not None and len(frame) else None
        filas[kind] = 0 if rows is None else len(rows)
        if rows is not None and "periodo" in rows:
            periodos.append(rows["periodo"])
        if rows is not None and len(rows) and kind in ("carpetas", "victimas"):
            por_mes[kind] = _por_mes(rows, kind)
    meses = _meses(pd.concat(periodos)) if periodos else []
    cuarentena = [r for r in result.cuarentena if r["archivo_origen"] in en_archivos]
    archivos_tabla = result.table("archivos")
    archivos_tabla = archivos_tabla[archivos_tabla["archivo_origen"].isin(en_archivos)]
    archivos_tabla = pd.DataFrame({
        "archivo_origen": archivos_tabla["archivo_origen"],
        "tipo": archivos_tabla["tipo"],
        "sha256": archivos_tabla["archivo_sha256"].astype(str).str[:12],
        "lectura": ["caché (sin cambio)" if a in reutilizados else "leído"
                    for a in archivos_tabla["archivo_origen"]]})
    meta = {
        "entidad": f"{cve} {nombre}".strip(),
        "archivos": len(archivos),
        "archivos_leidos": len(leidos),
        "archivos_reutilizados": len(reutilizados),
        **{f"filas_{kind}": n for kind, n in filas.items()},
        "celdas_en_cuarentena": len(cuarentena),
        "meses": _span(meses),
        "inbox": f"{inbox_reutilizados} de {len(result.archivos)} archivos del inbox tomados de la caché "
                 "(sin cambio); los demás se leyeron",
        "detalle_archivos": preview(archivos_tabla, limit=50),
        "cifras_por_mes": preview(pd.DataFrame(
            [{"periodo": m, "carpetas": por_mes.get("carpetas", {}).get(m),
              "victimas": por_mes.get("victimas", {}).get(m)} for m in meses]), limit=40),
    }
    if not archivos:
        meta["lectura"] = "sin reporte de esta entidad en el inbox"
    elif leidos:
        meta["lectura"] = f"leídos (nuevos o cambiados): {', '.join(leidos)}"
    else:
        meta["lectura"] = "todos sus archivos sin cambio: su resultado se tomó de la caché"
    if cuarentena:
        meta["cuarentena"] = preview(pd.DataFrame.from_records(cuarentena), limit=20)
    summary = {"cve_ent": cve, "archivos": sorted(archivos), "leidos": leidos, "reutilizados": reutilizados,
               "filas": filas, "celdas_en_cuarentena": len(cuarentena), "meses": meses,
               "carpetas_por_mes": por_mes.get("carpetas", {}), "victimas_por_mes": por_mes.get("victimas", {}),
               "inbox": {"archivos": len(result.archivos), "reutilizados": inbox_reutilizados,
                         "leidos": sorted({r["archivo_origen"] for r in result.archivos}
                                          - set(result.reutilizados))}}
    return meta, summary


def accounting_check_for(result: SourceResult, archivos: set[str], what: str) -> dg.AssetCheckResult:
    """leídas = cargadas + en cuarentena + excluidas, for these files only (ingest.accounting_check's rule)."""
    table = result.contabilidad()
    table = table[table["archivo_origen"].isin(archivos)]
    balance = table["leidas"] - table["cargadas"] - table["en_cuarentena"] - table["excluidas"]
    broken = table[balance != 0]
    return dg.AssetCheckResult(
        check_name="contabilidad_filas", passed=bool(broken.empty), severity=dg.AssetCheckSeverity.ERROR,
        description=f"{len(broken)} descuadres en {table['archivo_origen'].nunique()} archivos de {what}",
        metadata={"archivos": int(table["archivo_origen"].nunique()), "archivos_hojas": len(table),
                  "descuadres": len(broken), "leidas": int(table["leidas"].sum()),
                  "cargadas": int(table["cargadas"].sum()), "en_cuarentena": int(table["en_cuarentena"].sum()),
                  "excluidas": int(table["excluidas"].sum()),
                  "detalle": preview(broken if len(broken) else table, limit=40)})


@dg.asset(
    key=REPORTE_ESTADO_KEY, group_name=GROUP, partitions_def=estados_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(), io_manager_key=IO_MANAGER_KEY, kinds={"excel", "csv"},
    description="El reporte CIE de una entidad (partición = cve_ent '01'-'32'): lee el inbox con la caché "
                "(solo se analizan los archivos nuevos o cambiados) y reporta la parte de esa entidad: sus "
                "archivos y cuáles se tomaron de la caché, filas por tipo, celdas en cuarentena y meses. Al "
                "terminar, el sensor particion_a_nacional lanza el refresco nacional.",
    check_specs=[dg.AssetCheckSpec("contabilidad_filas", asset=REPORTE_ESTADO_KEY, blocking=True,
                                   description="leídas = cargadas + en cuarentena + excluidas, en los archivos "
                                               "de las entidades materializadas")])
def reporte_estado(context: dg.AssetExecutionContext, cies: CiesResource):
    today = cies.today()
    result = read_state_reports(cies.inbox_dir, today, cache=cies.cache())
    por_archivo = estados_por_archivo(result, cies.inbox_dir, today)
    sin_entidad = sorted({r["archivo_origen"] for r in result.archivos} - set(por_archivo))
    nombres = _nombres_estados()
    value, todos = {}, set()
    for cve in context.partition_keys:
        archivos = sorted(a for a, estados in por_archivo.items() if cve in estados)
        todos.update(archivos)
        meta, value[cve] = _estado_slice(result, cve, archivos, nombres.get(cve, ""))
        meta["archivos_sin_entidad"] = len(sin_entidad)
        if sin_entidad:
            meta["sin_entidad"] = dg.MetadataValue.md(
                "Archivos del inbox sin entidad reconocible (rechazados o ilegibles; los trata el refresco "
                "nacional):\n" + "\n".join(f"- {a}" for a in sin_entidad[:50]))
        context.add_asset_metadata(meta, partition_key=cve)
    yield dg.Output(value)
    keys = list(context.partition_keys)
    yield accounting_check_for(result, todos, (f"la entidad {keys[0]}" if len(keys) == 1
                                               else f"las entidades {keys[0]} a {keys[-1]}"))


# -- particiones/sesnsp_anual -----------------------------------------------------------------------------
def metodologia_del_anio(anio: int) -> str:
    return METODOLOGIA_RNID if anio >= RNID_DESDE_ANIO else METODOLOGIA


def _anio_slice(result: SourceResult, anio: int, years: dict[str, pd.Series]) -> tuple[dict, dict]:
    filas, archivos, meses = {}, set(), set()
    for kind, frame in result.frames.items():
        mask = (years[kind] == anio).to_numpy()
        filas[kind] = int(mask.sum())
        if filas[kind]:
            archivos.update(str(a) for a in frame.loc[mask, "archivo_origen"].unique())
            meses.update(_meses(frame.loc[mask, "periodo"]))
    meses = sorted(meses)
    reutilizados = set(result.reutilizados)
    rows = []
    for p in result.publicaciones:
        propios = [m for m in p["meses_publicados"] if m.startswith(f"{anio}-")]
        if p["archivo_origen"] in archivos and propios:
            rows.append({"archivo_origen": p["archivo_origen"], "tipo": p["tipo"],
                         "metodologia_archivo": p["metodologia_archivo"], "corte": p["corte"],
                         "corte_origen": p["corte_origen"], "meses_publicados": _span(propios),
                         "lectura": "caché (sin cambio)" if p["archivo_origen"] in reutilizados else "leído"})
    cortes = sorted({r["corte"] for r in rows if r["corte"]})
    meta = {
        "anio": anio,
        "metodologia": metodologia_del_anio(anio),
        **{f"filas_{kind}": n for kind, n in filas.items()},
        "meses_publicados": _span(meses),
        "meses": len(meses),
        "archivos": len(archivos),
        "corte": cortes[-1] if cortes else "(sin datos publicados)",
        "detalle_archivos": preview(pd.DataFrame.from_records(
            rows, columns=["archivo_origen", "tipo", "metodologia_archivo", "corte", "corte_origen",
                           "meses_publicados", "lectura"]), limit=50),
    }
    summary = {"anio": anio, "metodologia": metodologia_del_anio(anio), "filas": filas, "meses": meses,
               "archivos": sorted(archivos), "cortes": {r["archivo_origen"]: r["corte"] for r in rows}}
    return meta, summary


@dg.asset(
    key=SESNSP_ANUAL_KEY, group_name=GROUP, partitions_def=anios_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(), io_manager_key=IO_MANAGER_KEY, kinds={"csv"},
    description="Las cifras de trata del SESNSP de un año (partición = año; 2015-2025 metodología "
                "CNSP-38-15, 2026 en adelante RNID-2026): lee la carpeta sesnsp con la caché y reporta filas "
                "por tipo, meses publicados, archivos y su corte. Un backfill de un rango es UNA corrida que "
                "lee la carpeta una vez. Al terminar, el sensor particion_a_nacional lanza el refresco nacional.")
def sesnsp_anual(context: dg.AssetExecutionContext, cies: CiesResource):
    result = read_sesnsp_dir(cies.sesnsp_dir, cache=cies.cache())
    years = {kind: pd.to_datetime(frame["periodo"]).dt.year for kind, frame in result.frames.items()}
    value = {}
    for key in context.partition_keys:
        meta, value[key] = _anio_slice(result, int(key), years)
        if result.rechazados:
            meta["archivos_rechazados"] = preview(result.table("rechazados"), limit=20)
        context.add_asset_metadata(meta, partition_key=key)
    return dg.Output(value)


ASSETS = [reporte_estado, sesnsp_anual]
