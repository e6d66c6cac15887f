"""SESNSP 2026 (RNID): the four layouts, encodings, unpublished months as empty or 0, the release month,
'Parent - Child' subtypes, metodologia per line, and the 2015-2025 / 2026 overlap check.

Every file is written here from literal lines, in the encoding and line endings under test.
"""
from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd

from cies_pipeline.assets import ingest
from cies_pipeline.assets.common import CiesResource
from cies_pipeline.sources.sesnsp import (
    detect_sesnsp_kind, metodologia_overlaps, publicaciones_table, read_sesnsp, read_sesnsp_dir,
)

MESES = "Enero,Febrero,Marzo,Abril,Mayo,Junio,Julio,Agosto,Septiembre,Octubre,Noviembre,Diciembre"
H_ESTATAL = f"Año,Clave_Ent,Entidad,Bien jurídico afectado,Tipo de delito,Subtipo de delito,Modalidad,{MESES}"
H_VICTIMAS_MUN = ("Año,Clave_Ent,Entidad,Cve. Municipio,Municipio,Bien jurídico afectado,Tipo de delito,"
                  f"Subtipo de delito,Modalidad,Sexo,Rango de edad,{MESES}")
LABORAL = "La libertad personal,Trata de personas,Trata de personas - Explotación laboral,Trata de personas"
SEXUAL = ("La libertad personal,Trata de personas,Trata de personas - Prostitución ajena u otras formas de "
          "explotación sexual ajena,Trata de personas")
ROBO = ("El patrimonio,Robo de vehículo automotor,Robo de vehículo automotor - Coche de 4 ruedas,"
        "Con violencia")

# August release, UTF-8 with BOM, unpublished months written as 0. Lines on the right (header = 1).
AGOSTO = [
    H_ESTATAL,                                                       # 1
    f"2026,14,Jalisco,{LABORAL},1,0,2,0,0,0,0,0,0,0,0,0",             # 2 trata, last non-zero: March
    f"2026,14,Jalisco,{SEXUAL},0,3,0,0,0,0,0,0,0,0,0,0",              # 3 trata
    f"2026,14,Jalisco,{ROBO},5,6,7,8,9,10,11,12,0,0,0,0",             # 4 another crime: non-zero to August
]


def write(path: Path, lines: list[str], encoding: str, newline: str = "\r\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


def test_utf8_bom_file_zero_months_after_the_release_are_not_loaded(tmp_path):
    # no month in the name: the release month is the highest non-zero month of ANY crime (August, robo)
    path = write(tmp_path / "RNID-Delitos_Estatal-2026.csv", AGOSTO, "utf-8-sig")
    assert detect_sesnsp_kind(path) == "sesnsp_carpetas_estatal"
    result = read_sesnsp(path, path.name)
    frame = result.frames["sesnsp_carpetas_estatal"]
    # two trata lines x January..August; robo is out of scope; September-December (0) never loaded
    assert len(frame) == 16
    assert frame["periodo"].max() == pd.Timestamp("2026-08-01")
    assert set(frame["corte"]) == {pd.Timestamp("2026-08-01")}
    assert set(frame["metodologia"]) == {"RNID-2026"}
    laboral = frame[frame["delito"] == "Trata de personas - Explotación laboral"]
    assert laboral.sort_values("periodo")["carpetas"].tolist() == [1, 0, 2, 0, 0, 0, 0, 0]
    # the subtype is kept whole for the crosswalk
    assert set(frame["delito"]) == {"Trata de personas - Explotación laboral",
                                    "Trata de personas - Prostitución ajena u otras formas de explotación "
                                    "sexual ajena"}
    [pub] = result.publicaciones
    assert pub["corte"] == "2026-08" and pub["corte_origen"] == "contenido"
    assert pub["metodologia_archivo"] == "RNID-2026"
    assert pub["meses_publicados"] == [f"2026-{m:02d}" for m in range(1, 9)]
    assert pub["meses_no_publicados"] == ["2026-09", "2026-10", "2026-11", "2026-12"]
    assert any("celdas en 0 después del corte 2026-08" in w for w in result.warnings)
    row = result.contabilidad().iloc[0]
    assert (row.leidas, row.cargadas, row.excluidas) == (3, 2, 1)


def test_release_month_inferred_from_non_zero_figures_only(tmp_path):
    # without the robo line the last non-zero month is March (trata line 2): April-December are 0 = unpublished
    path = write(tmp_path / "RNID-Delitos_Estatal-2026.csv", AGOSTO[:3], "utf-8-sig")
    result = read_sesnsp(path, path.name)
    frame = result.frames["sesnsp_carpetas_estatal"]
    assert frame["periodo"].max() == pd.Timestamp("2026-03-01")
    assert len(frame) == 6
    assert result.publicaciones[0]["corte"] == "2026-03"


def test_name_overrides_the_content_and_cp1252_with_empty_months(tmp_path):
    lines = [H_ESTATAL,
             f"2026,14,Jalisco,{LABORAL},1,0,,,,,,,,,,",
             # a figure for March in a file named February: the name decides, March is not loaded
             f"2026,15,México,{SEXUAL},2,1,4,,,,,,,,,"]
    path = write(tmp_path / "RNID-Delitos_Estatal-2026-feb2026.csv", lines, "cp1252")
    assert path.read_bytes()[:3] != b"\xef\xbb\xbf" and "ó".encode("cp1252") in path.read_bytes()
    result = read_sesnsp(path, path.name)
    frame = result.frames["sesnsp_carpetas_estatal"]
    assert sorted(zip(frame["cve_ent"], frame["periodo"].dt.month, frame["carpetas"])) == [
        ("14", 1, 1), ("14", 2, 0), ("15", 1, 2), ("15", 2, 1)]
    assert frame["delito"].iloc[-1].endswith("explotación sexual ajena")    # decoded as windows-1252
    assert result.publicaciones[0]["corte_origen"] == "nombre del archivo"
    assert any("1 celdas con cifra después del corte 2026-02" in w for w in result.warnings)


def test_municipal_victims_layout(tmp_path):
    lines = [H_VICTIMAS_MUN,
             f"2026,14,Jalisco,14039,Guadalajara,{SEXUAL},Mujer,13 a 17 años,1,2,0,0,0,0,0,0,0,0,0,0",
             f"2026,14,Jalisco,14998,No especificado,{LABORAL},Hombre,30 a 60 años,0,1,0,0,0,0,0,0,0,0,0,0",
             f"2026,14,Jalisco,14039,Guadalajara,{ROBO},Hombre,18 a 29 años,3,3,3,0,0,0,0,0,0,0,0,0"]
    path = write(tmp_path / "RNID-Victimas_Municipal-2026-feb2026.csv", lines, "utf-8-sig")
    assert detect_sesnsp_kind(path) == "sesnsp_victimas_municipal"
    result = read_sesnsp_dir(tmp_path)
    frame = result.frames["sesnsp_victimas_municipal"]
    assert list(frame.columns[-5:]) == ["cvegeo", "municipio", "sexo", "rango_edad", "victimas"]
    got = sorted(zip(frame["cvegeo"], frame["periodo"].dt.month, frame["sexo"], frame["rango_edad"],
                     frame["victimas"]))
    assert got == [("14039", 1, "Mujer", "13 a 17 años", 1), ("14039", 2, "Mujer", "13 a 17 años", 2),
                   ("14998", 1, "Hombre", "30 a 60 años", 0), ("14998", 2, "Hombre", "30 a 60 años", 1)]
    assert set(frame["metodologia"]) == {"RNID-2026"}
    # every other kind is there, empty, with its columns
    assert len(result.frames["sesnsp_victimas_estatal"]) == 0


def test_metodologia_follows_the_year_of_each_line(tmp_path):
    # a 2015-2025 series file that runs into 2026: its 2026 cells are RNID-2026 figures
    lines = [H_ESTATAL,
             "2025,14,Jalisco,La sociedad,Trata de personas,Trata de personas,Trata de personas,"
             "1,1,1,1,1,1,1,1,1,1,1,1",
             "2026,14,Jalisco,La sociedad,Trata de personas,Trata de personas,Trata de personas,"
             "2,,,,,,,,,,,"]
    path = write(tmp_path / "Estatal-Delitos-2015-2025_ene2026.csv", lines, "cp1252")
    result = read_sesnsp(path, path.name)
    frame = result.frames["sesnsp_carpetas_estatal"]
    by_year = frame.groupby(frame["periodo"].dt.year)["metodologia"].unique().to_dict()
    assert list(by_year[2025]) == ["CNSP-38-15"] and list(by_year[2026]) == ["RNID-2026"]
    assert result.publicaciones[0]["metodologia_archivo"] == "CNSP-38-15"


def _overlapping(directory: Path) -> None:
    write(directory / "Estatal-Delitos-2015-2025_feb2026.csv", [
        H_ESTATAL,
        "2025,14,Jalisco,La sociedad,Trata de personas,Trata de personas,Trata de personas,"
        "1,1,1,1,1,1,1,1,1,1,1,1",
        "2026,14,Jalisco,La sociedad,Trata de personas,Trata de personas,Trata de personas,2,3,,,,,,,,,,"],
        "cp1252")
    write(directory / "RNID-Delitos_Estatal-2026-ene2026.csv",
          [H_ESTATAL, f"2026,14,Jalisco,{LABORAL},2,0,0,0,0,0,0,0,0,0,0,0"], "utf-8-sig")


def test_overlap_between_methodologies_is_listed(tmp_path):
    _overlapping(tmp_path)
    result = read_sesnsp_dir(tmp_path)
    overlaps = metodologia_overlaps(result.publicaciones)
    assert overlaps.to_dict("records") == [{
        "tipo": "sesnsp_carpetas_estatal", "periodo": "2026-01",
        "archivos_cnsp": "Estatal-Delitos-2015-2025_feb2026.csv",
        "archivos_rnid": "RNID-Delitos_Estatal-2026-ene2026.csv"}]
    table = publicaciones_table(result.publicaciones).set_index("archivo_origen")
    assert table.loc["Estatal-Delitos-2015-2025_feb2026.csv", "meses_publicados"] == "2025-01 … 2026-02 (14)"
    # two releases of the same methodology are not an overlap (the latest corte wins downstream)
    (tmp_path / "Estatal-Delitos-2015-2025_feb2026.csv").unlink()
    write(tmp_path / "RNID-Delitos_Estatal-2026-feb2026.csv",
          [H_ESTATAL, f"2026,14,Jalisco,{LABORAL},2,1,0,0,0,0,0,0,0,0,0,0"], "utf-8-sig")
    assert metodologia_overlaps(read_sesnsp_dir(tmp_path).publicaciones).empty


def test_ingest_asset_check_blocks_an_overlap(tmp_path):
    _overlapping(tmp_path / "sesnsp")
    result = dg.materialize([ingest.sesnsp], resources={"cies": CiesResource(data_dir=str(tmp_path))},
                            raise_on_error=False)
    assert not result.success
    [check] = [e for e in result.get_asset_check_evaluations() if e.check_name == "metodologias_sin_traslape"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["meses_traslapados"].value == 1


def test_ingest_asset_metadata_lists_months_taken_as_published(tmp_path):
    write(tmp_path / "sesnsp" / "RNID-Delitos_Estatal-2026.csv", AGOSTO, "utf-8-sig")
    result = dg.materialize([ingest.sesnsp], resources={"cies": CiesResource(data_dir=str(tmp_path))})
    assert result.success
    [mat] = result.asset_materializations_for_node("ingest__sesnsp")
    text = mat.metadata["meses_publicados"].value
    assert "2026-01 … 2026-08 (8)" in text and "2026-09 … 2026-12 (4)" in text and "contenido" in text
    [check] = [e for e in result.get_asset_check_evaluations() if e.check_name == "metodologias_sin_traslape"]
    assert check.passed
