"""Assembles the code location: assets by group, checks, the refresh job, schedule, sensor, resources."""
from __future__ import annotations

import gc

import dagster as dg

from cies_pipeline.assets import harmonized, ingest, quality_checks, staging
from cies_pipeline.assets import publicado
from cies_pipeline.assets import reports
from cies_pipeline.assets import partitions
from cies_pipeline.assets.common import CiesResource
from cies_pipeline.assets.warehouse import build_publish_asset
from cies_pipeline.automation import (inbox_sensor, nightly_refresh, particion_a_nacional, refresco_estado_job,
                                      refresh_job, sesnsp_por_anio_job)
from cies_pipeline.settings import Settings, get_settings
from cies_pipeline.warehouse.resource import Warehouse, WarehouseResource


# Assets whose value is {qualified table name: DataFrame}, published with the rest ('group/name' -> tables).
TABLE_PROVIDERS: dict[str, list[str]] = {
    "harmonized/dimensiones": list(harmonized.DIMENSION_TABLES),
    "harmonized/tablas_calidad": list(quality_checks.QUALITY_TABLES),
    "harmonized/indicadores": ["warehouse.indicadores"],
    "harmonized/cobertura": ["quality.cobertura"],
    "harmonized/supresion_victimas": ["warehouse.victimas_municipio_supresion"],
    "harmonized/supresion_indicadores": ["warehouse.indicadores_supresion"],
}


def build_definitions(settings: Settings, hoy: str | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=[*ingest.ASSETS, *staging.ASSETS, *harmonized.ASSETS, *quality_checks.ASSETS, *publicado.ASSETS, *reports.ASSETS,
                *partitions.ASSETS, build_publish_asset(Warehouse(settings.warehouse_url).dialect, TABLE_PROVIDERS)],
        jobs=[refresh_job, refresco_estado_job, sesnsp_por_anio_job],
        schedules=[nightly_refresh],
        sensors=[inbox_sensor, particion_a_nacional],
        resources={
            "cies": CiesResource(data_dir=str(settings.data_dir),
                                 reconciliacion_desde=settings.reconciliacion_desde, hoy=hoy),
            "warehouse": WarehouseResource(url=settings.warehouse_url),
            # particiones/*: one small pickle per partition, also for a single-run backfill of a range
            partitions.IO_MANAGER_KEY: partitions.ParticionesIOManager(),
        },
    )


defs = build_definitions(get_settings())
# What is loaded by now lives as long as the process (modules, these definitions, Dagster's, GX's and pandas'
# own objects: about 400,000): frozen, the collector leaves it alone, and a full collection during a run scans
# only what the run made. A refresh spent 1.2 s in 10 full collections; 0.7 s in 15 frozen (wall 17 s -> 15.8 s).
gc.freeze()
