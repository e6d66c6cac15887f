"""What analysts may see of victims: the suppression flags behind the `publicado` views.

The flags are computed here, in the pipeline (quality/suppression.py), and published with every other
table in the one publish transaction; the `publicado` views (warehouse/schema.VIEWS) are plain SELECTs
over them, created by the warehouse resource in that same transaction.
"""
import dagster as dg

from cies_pipeline.assets.common import preview
from cies_pipeline.harmonize.facts import Harmonized
from cies_pipeline.quality.suppression import (indicadores_supresion, umbral_supresion,
                                               victimas_municipio_supresion)

KEY = dg.AssetKey(["harmonized", "supresion_victimas"])
TABLE = "warehouse.victimas_municipio_supresion"


@dg.asset(key=KEY, group_name="harmonized", kinds={"pandas"},
          ins={"victimas": dg.AssetIn(key=dg.AssetKey(["harmonized", "victimas_trata"]))})
def supresion_victimas(victimas: Harmonized) -> dg.Output:
    """Celdas de víctimas por municipio, forma, sexo y edad, con la marca de supresión (umbral y secundaria)."""
    umbral = umbral_supresion()
    result = victimas_municipio_supresion(victimas.frame, umbral)
    f = result.frame
    # Counts only: a preview of the flagged cells would show the very values being suppressed.
    return dg.Output({TABLE: f}, metadata={
        "dagster/row_count": len(f), "umbral": umbral,
        "celdas_suprimidas_primarias": int((f["motivo_supresion"] == "primaria").sum()),
        "celdas_suprimidas_secundarias": int((f["motivo_supresion"] == "secundaria").sum()),
        "rondas_secundarias": result.iteraciones,
        "margenes_sin_complemento": len(result.margenes_sin_complemento),
        "margenes_sin_complemento_detalle": preview(result.margenes_sin_complemento, limit=20),
    })


@dg.asset(key=dg.AssetKey(["harmonized", "supresion_indicadores"]), group_name="harmonized", kinds={"pandas"},
          ins={"indicadores": dg.AssetIn(key=dg.AssetKey(["harmonized", "indicadores"]))})
def supresion_indicadores(indicadores: dict) -> dg.Output:
    """Indicadores con la marca de supresión: víctimas municipales pequeñas y su tasa no se publican."""
    umbral = umbral_supresion()
    result = indicadores_supresion(indicadores["warehouse.indicadores"], umbral)
    f = result.frame
    return dg.Output({"warehouse.indicadores_supresion": f}, metadata={
        "dagster/row_count": len(f), "umbral": umbral, "filas_suprimidas": int(f["suprimida"].sum()),
        "margenes_sin_complemento": len(result.margenes_sin_complemento)})


ASSETS = [supresion_victimas, supresion_indicadores]
