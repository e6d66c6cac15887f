"""What the thin assets share: the data-directory resource, the clock, and metadata helpers."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pandas as pd
from dagster._core.definitions.metadata import normalize_metadata
from dagster._serdes import deserialize_value, serialize_value

from cies_pipeline.memo import Cache, memo_key, version_codigo
from cies_pipeline.settings import TIMEZONE
from cies_pipeline.sources.common import SourceResult
from cies_pipeline.sources.sesnsp import publicaciones_table


class CiesResource(dg.ConfigurableResource):
    """Where the inputs are (CIES_DATA_DIR) and the run's notion of 'today' (America/Mexico_City)."""

    data_dir: str
    reconciliacion_desde: str | None = None
    # Fixed date (YYYY-MM-DD) for reproducible runs and tests; None = today in America/Mexico_City.
    hoy: str | None = None

    @property
    def root(self) -> Path:
        return Path(self.data_dir)

    @property
    def sesnsp_dir(self) -> Path:
        return self.root / "sesnsp"

    @property
    def reference_dir(self) -> Path:
        return self.root / "reference"

    @property
    def inbox_dir(self) -> Path:
        return self.root / "inbox" / "state_reports"

    @property
    def gx_dir(self) -> Path:
        return self.root / "gx"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    def cache(self) -> Cache:
        """File hashes and stored results (memo.py): unchanged inputs are not read or checked again."""
        return Cache(self.cache_dir)

    def today(self) -> date:
        if self.hoy:
            return date.fromisoformat(self.hoy)
        return datetime.now(ZoneInfo(TIMEZONE)).date()


def _cell(value) -> str:
    if value is None or (not isinstance(value, (list, dict)) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else str(value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(frame: pd.DataFrame, limit: int = 10) -> str:
    """A small Markdown table (Dagster renders it in the UI); at most `limit` rows."""
    if frame is None or not len(frame.columns):
        return "_(sin columnas)_"
    head = frame.head(limit)
    lines = ["| " + " | ".join(map(str, head.columns)) + " |", "|" + " --- |" * len(head.columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in head.itertuples(index=False)]
    if len(frame) > limit:
        lines.append(f"\n_{len(frame) - limit:,} filas más_")
    if not len(frame):
        lines.append("\n_(sin filas)_")
    return "\n".join(lines)


def preview(frame: pd.DataFrame, limit: int = 10) -> dg.MetadataValue:
    return dg.MetadataValue.md(markdown_table(frame, limit))


def source_metadata(result: SourceResult) -> dict:
    """Row counts, quarantine, rejections and the files read (with sha256) of a reader's result."""
    archivos = result.table("archivos")
    meta = {
        "archivos_leidos": len(archivos),
        "archivos_rechazados": len(result.rechazados),
        "filas_en_cuarentena": len({(r["archivo_origen"], r["hoja"], r["fila_origen"]) for r in result.cuarentena}),
        "celdas_en_cuarentena": len(result.cuarentena),
        "columnas_rechazadas": len(result.columnas_rechazadas),
        "archivos": preview(archivos[["archivo_origen", "tipo", "archivo_sha256", "bytes"]]
                            if len(archivos) else archivos, limit=50),
    }
    for kind, frame in result.frames.items():
        meta[f"filas_{kind}"] = len(frame)
    if len(archivos):
        meta["archivos_reutilizados"] = len(result.reutilizados)
        meta["lectura"] = (
            f"{len(result.reutilizados)} de {len(archivos)} archivos sin cambio (mismo sha256, versión de código "
            "y mes): su resultado se tomó de la caché sin leerlos de nuevo" if result.reutilizados
            else "todos los archivos se leyeron (nuevos o cambiados, o cambió el código o el mes)")
    if result.huella:
        meta["huella"] = result.huella[:16]
    if result.rechazados:
        meta["rechazados"] = preview(result.table("rechazados"), limit=20)
    if result.cuarentena:
        meta["cuarentena"] = preview(result.table("cuarentena"), limit=20)
    if result.publicaciones:   # SESNSP: which months each file was taken to publish (domain.md section 10)
        meta["meses_publicados"] = preview(publicaciones_table(result.publicaciones), limit=50)
    if result.warnings:
        meta["avisos"] = dg.MetadataValue.md("\n".join(f"- {w}" for w in result.warnings[:50]))
    return meta


# -- skipping unchanged work (memo.py): check results stored with the output they were computed for ------
def freeze_checks(results: list[dg.AssetCheckResult]) -> list[dict]:
    """Check results as plain data (Dagster's check results do not pickle; their metadata serialises)."""
    return [{"asset": list(r.asset_key.path) if r.asset_key else None, "check": r.check_name,
             "passed": r.passed, "severity": r.severity.value, "description": r.description,
             "metadata": serialize_value(normalize_metadata(dict(r.metadata or {})))} for r in results]


def thaw_checks(frozen: list[dict], why: str) -> list[dg.AssetCheckResult]:
    """The stored check results again, each saying why it was not evaluated anew."""
    return [dg.AssetCheckResult(
        asset_key=dg.AssetKey(f["asset"]) if f["asset"] else None, check_name=f["check"], passed=f["passed"],
        severity=dg.AssetCheckSeverity(f["severity"]), description=f["description"],
        metadata={**deserialize_value(f["metadata"], as_type=dict), "omitido": why}) for f in frozen]


# memo: run id -> what revision_entradas' freshness checks read and the date they evaluated (ingest/cambios
# evaluates freshness again from it on another day)
FRESCURA_MEMO = "frescura"


def publication_key(warehouse_url: str, cies: CiesResource) -> str:
    """Key of the last publish's table hashes (memo "publicacion"): same warehouse, code version and month."""
    return memo_key("publicacion", warehouse_url, version_codigo(), f"{cies.today():%Y-%m}")


def skip_reason(key: str, run_id: str) -> str:
    return (f"sin cambio: mismas entradas (sha256), versión de código, crosswalks y mes que la corrida "
            f"{run_id[:8]} (huella {key[:12]}); se reutilizó su resultado sin volver a calcularlo")


def huella(value) -> str:
    """The fingerprint a step's output carries ('' when unknown: the step downstream then recomputes)."""
    if isinstance(value, pd.DataFrame):
        return str(value.attrs.get("huella", ""))
    return str(getattr(value, "huella", "") or "")
