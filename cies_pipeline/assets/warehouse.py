"""Groups `warehouse` and `quality`: every table of a refresh published in one transaction.

One multi-asset writes them all so that analysts never see a half-refreshed warehouse: each table is still
its own asset in the UI (named like the table, with its column schema and row count). Each table's suite ran
where the table was computed; this step reports that result on the table, and validates again, before
writing anything, only a table whose content is not what was validated.
"""

import time
from datetime import datetime, timezone

import dagster as dg
import pandas as pd

import cies_pipeline
from cies_pipeline.assets.common import (CiesResource, freeze_checks, preview, publication_key, skip_reason,
                                         thaw_checks)
from cies_pipeline.memo import table_fingerprint
from cies_pipeline.assets.harmonized import Gobernanza
from cies_pipeline.harmonize.crosswalks import crosswalk_versions
from cies_pipeline.harmonize.facts import Harmonized
from cies_pipeline.assets.quality_checks import table_suite_specs, validate_tables
from cies_pipeline.assets.staging import validation_of
from cies_pipeline.quality.suites import TABLE_SUITES
from cies_pipeline.sources.common import SourceResult
from cies_pipeline.warehouse.resource import WarehouseResource, dumps
from cies_pipeline.warehouse.schema import TABLES, Table


class Laps:
    """Seconds spent in each phase of the publish step (logged: where the time of a refresh goes)."""

    def __init__(self):
        self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + now - self.last
        self.last = now

    def __str__(self) -> str:
        return ", ".join(f"{k} {v:.2f} s" for k, v in self.laps.items())


def _column_schema(t: Table) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(c.name, c.type, description=c.description) for c in t.columns])


# Which upstream asset each published table comes from (the lineage the UI draws); the tables of the assets
# in `providers` (definitions.TABLE_PROVIDERS) are added by build_publish_asset.
_INGEST = [["ingest", "reportes_cie"], ["ingest", "sesnsp"], ["ingest", "referencia"]]
_UPSTREAM = {
    "warehouse.dim_municipio": [["harmonized", "dim_municipio"]],
    "warehouse.fact_carpetas_trata": [["harmonized", "carpetas_trata"]],
    "warehouse.fact_victimas_trata": [["harmonized", "victimas_trata"]],
    "warehouse.reconciliacion": [["harmonized", "reconciliacion"]],
    "warehouse.reconciliacion_municipal": [["harmonized", "reconciliacion"]],
    "warehouse.reconciliacion_forma": [["harmonized", "reconciliacion"]],
    "warehouse.cie_estatus": [["harmonized", "gobernanza_cie"]],
    "warehouse.cie_acuerdos": [["harmonized", "gobernanza_cie"]],
    "warehouse.poblacion_estatal": [["staging", "poblacion_estatal"]],
    "warehouse.cargas": _INGEST,
}


def _spec(t: Table, kinds: set[str], upstream: dict[str, list]) -> dg.AssetSpec:
    return dg.AssetSpec(key=dg.AssetKey([t.schema, t.name]), group_name=t.schema, description=t.description,
                        kinds=kinds, deps=[dg.AssetKey(k) for k in upstream[t.qualified]],
                        metadata={"dagster/column_schema": _column_schema(t), "dagster/table_name": t.qualified})


def build_publish_asset(dialect: str, providers: dict[str, list[str]] | None = None) -> dg.AssetsDefinition:
    """The publishing multi-asset. `providers` maps the key ('group/name') of an upstream asset whose value is
    {qualified table name: DataFrame} to the tables it provides: a new table is published by adding it to
    schema.TABLES and registering the asset that computes it here (see definitions.py)."""
    kinds = {dialect}
    providers = providers or {}
    upstream = dict(_UPSTREAM)
    for key, tables in providers.items():
        for name in tables:
            upstream.setdefault(name, []).append(key.split("/"))
    missing = set(TABLES) - set(upstream)
    if missing:
        raise ValueError(f"tables of schema.TABLES that no asset provides: {sorted(missing)}")
    specs = [_spec(t, kinds, upstream) for t in TABLES.values()]
    provider_ins = {f"tablas_{i}": dg.AssetIn(key=dg.AssetKey(key.split("/")))
                    for i, key in enumerate(sorted(providers))}
    cargas_key = dg.AssetKey(["warehouse", "cargas"])

    @dg.multi_asset(
        name="publicar_warehouse", specs=specs, can_subset=False,
        ins={"reportes": dg.AssetIn(key=dg.AssetKey(["ingest", "reportes_cie"])),
             "sesnsp": dg.AssetIn(key=dg.AssetKey(["ingest", "sesnsp"])),
             "referencia": dg.AssetIn(key=dg.AssetKey(["ingest", "referencia"])),
             "dim_municipio": dg.AssetIn(key=dg.AssetKey(["harmonized", "dim_municipio"])),
             "carpetas": dg.AssetIn(key=dg.AssetKey(["harmonized", "carpetas_trata"])),
             "victimas": dg.AssetIn(key=dg.AssetKey(["harmonized", "victimas_trata"])),
             "reconciliacion": dg.AssetIn(key=dg.AssetKey(["harmonized", "reconciliacion"])),
             "gobernanza": dg.AssetIn(key=dg.AssetKey(["harmonized", "gobernanza_cie"])),
             "poblacion": dg.AssetIn(key=dg.AssetKey(["staging", "poblacion_estatal"])),
             **provider_ins},
        check_specs=[dg.AssetCheckSpec("tablas_publicadas", asset=cargas_key,
                                       description="lo que quedó en la base es lo que se quiso escribir"),
                     *table_suite_specs(list(TABLES))],
    )
    def publicar_warehouse(context: dg.AssetExecutionContext, warehouse: WarehouseResource, cies: CiesResource,
                           reportes: SourceResult, sesnsp: SourceResult, referencia: SourceResult,
                           dim_municipio: pd.DataFrame, carpetas: Harmonized, victimas: Harmonized,
                           reconciliacion: dict, gobernanza: Gobernanza, poblacion: pd.DataFrame,
                           **provided: dict[str, pd.DataFrame]):
        """Publica todas las tablas de warehouse y quality en una sola transacción."""
        started = datetime.now(timezone.utc)
        clock = Laps()
        results = [reportes, sesnsp, referencia]
        archivos = pd.concat([r.table("archivos") for r in results], ignore_index=True)
        cortes = pd.concat([f["corte"] for f in sesnsp.frames.values() if len(f) and "corte" in f]
                           or [pd.Series(dtype="datetime64[ns]")])
        frames = {
            "warehouse.dim_municipio": dim_municipio,
            "warehouse.fact_carpetas_trata": carpetas.frame,
            "warehouse.fact_victimas_trata": victimas.frame,
            "warehouse.reconciliacion": reconciliacion["reconciliacion"],
            "warehouse.reconciliacion_municipal": reconciliacion["reconciliacion_municipal"],
            "warehouse.reconciliacion_forma": reconciliacion["reconciliacion_forma"],
            "warehouse.cie_estatus": gobernanza.cie_estatus,
            "warehouse.cie_acuerdos": gobernanza.cie_acuerdos,
            "warehouse.poblacion_estatal": poblacion,
        }
        for tables in provided.values():
            frames.update(tables)
        # Tables whose contents equal what the last publish wrote (content hash, same warehouse, same code and
        # month, and that publish is still the warehouse's latest load) are neither validated nor written
        # again: their stored check results are reported with the reason.
        wh = warehouse.get()
        cache = cies.cache()
        # one connection to a DuckDB warehouse for the reads before, the write and the read back
        with wh.session():
            clock.lap("tablas armadas")
            huellas = {name: table_fingerprint(frame) for name, frame in frames.items()}
            clock.lap("huellas")
            memo_key_ = publication_key(wh.url_sin_clave(), cies)
            last = cache.memo.get("publicacion", memo_key_)
            if last and last["ultima_carga"] != wh.latest_run_id():
                last = None
            unchanged = {name for name in frames
                         if last and huellas[name] and last["huellas"].get(name) == huellas[name]}
            why = skip_reason(memo_key_, last["ultima_carga"]) if last else ""
            # A table validated by the same suite where it was computed (harmonized facts and dimensions,
            # reconciliation, staged population, coverage…), with the very content it has now, is not validated
            # twice: that result is reported here, on the warehouse table.
            validated = {name: found for name, frame in frames.items()
                         if name not in unchanged and name in TABLE_SUITES
                         and (found := validation_of(frame, TABLE_SUITES[name], huellas[name]))}
            # Every table with a suite is validated BEFORE anything is written: a blocking failure publishes nothing.
            clock.lap("lectura de la última publicación")
            suite_checks, blocking_failed = validate_tables(
                {n: f for n, f in frames.items() if n not in unchanged},
                [t for t in TABLES if t not in unchanged and t not in validated], cies, huellas)
            for name, frozen in validated.items():
                origin = "/".join(frozen["asset"])
                again = thaw_checks([{**frozen, "asset": name.split("."), "check": f"gx_{name.split('.', 1)[1]}"}],
                                    f"misma tabla (misma huella de contenido) validada con la misma suite en {origin}")
                suite_checks += again
                if not again[0].passed and again[0].severity == dg.AssetCheckSeverity.ERROR:
                    blocking_failed.append(name)
            stored_checks = [c for name in sorted(unchanged) for c in last["checks"].get(name, [])] if last else []
            suite_checks += thaw_checks(stored_checks, why) if stored_checks else []
            if blocking_failed:
                yield from suite_checks
                raise dg.Failure(description="suites bloqueantes fallidas; no se publicó nada (el almacén conserva "
                                             f"el refresco anterior): {', '.join(blocking_failed)}",
                                 metadata={"tablas": ", ".join(blocking_failed)})
            written = {name: len(frame) for name, frame in frames.items()}
            frames["warehouse.cargas"] = pd.DataFrame([{
                "run_id": context.run_id, "iniciado": started,
                "terminado": datetime.now(timezone.utc),
                "archivos": dumps(archivos[["archivo_origen", "archivo_sha256", "tipo"]].to_dict("records")),
                "corte": cortes.max() if len(cortes) else None,
                "versiones_crosswalk": dumps(crosswalk_versions()),
                "version_codigo": cies_pipeline.__version__,
                "filas": dumps(written),
            }])
            to_write = {name: frame for name, frame in frames.items() if name not in unchanged}
            clock.lap("validación (GX)")
            # Nothing else runs in this process meanwhile: DuckDB takes the GIL back to read each DataFrame it scans,
            # and Python work in another thread (GX rendering Data Docs) made this write 3x slower. The Data Docs are
            # rendered after the publish, by reports/data_docs.
            wh.publish(to_write, run_id=context.run_id, loaded_at=started)
            clock.lap("escritura (una transacción)")
            context.log.info(f"published {len(to_write)} tables to {wh.dialect}: "
                             f"{sum(len(f) for f in to_write.values()):,} rows; {len(unchanged)} unchanged tables kept")
            frozen = {name: freeze_checks([c for c in suite_checks if c.asset_key == dg.AssetKey(name.split("."))])
                      for name in frames}
            if last:
                frozen.update({name: last["checks"].get(name, []) for name in unchanged})
            cache.memo.put("publicacion", memo_key_, {"ultima_carga": context.run_id, "huellas": huellas,
                                                      "checks": frozen})
            for name, frame in frames.items():
                t = TABLES[name]
                meta = {"dagster/row_count": len(frame), "preview": preview(frame, 5)}
                if name in unchanged:
                    meta["omitido"] = f"tabla sin cambio, no se reescribió: {why}"
                yield dg.MaterializeResult(asset_key=dg.AssetKey([t.schema, t.name]), metadata=meta)
            yield from suite_checks
            # The check reads back what is now in the database.
            clock.lap("metadatos y eventos de Dagster")
            counts = wh.table_counts()
            clock.lap("relectura de conteos")
            context.log.info(f"publicar_warehouse: {clock}")
            expected = {name: len(frame) for name, frame in frames.items() if not TABLES[name].append_only}
            wrong = {name: (n, counts.get(name)) for name, n in expected.items() if counts.get(name) != n}
            yield dg.AssetCheckResult(
                asset_key=cargas_key, check_name="tablas_publicadas", passed=not wrong,
                metadata={"tablas": len(expected), "diferencias": dumps(wrong),
                          "tiempos_s": dumps({k: round(v, 2) for k, v in clock.laps.items()})})

    return publicar_warehouse
