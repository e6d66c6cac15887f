"""CONAPO municipal projections (base_municipios_final_datos_01/02.csv, latin-1) into poblacion_municipal."""
from __future__ import annotations

from pathlib import Path

from cies_pipeline.sources.reference import detect_reference_kind, read_conapo_municipal, read_reference_dir

HEADER = "RENGLON,CLAVE,CLAVE_ENT,NOM_ENT,MUN,SEXO,AÑO,EDAD_QUIN,POB"
LINES = [
    HEADER,                                                              # 1
    "1,14039,14,Jalisco,Guadalajara,HOMBRES,2025,pobm_00_04,40000",      # 2
    "2,14039,14,Jalisco,Guadalajara,MUJERES,2025,pobm_00_04,41000",      # 3
    "3,14039,14,Jalisco,Guadalajara,HOMBRES,2025,pobm_05_09,39000",      # 4
    "4,14039,14,Jalisco,Guadalajara,HOMBRES,2026,pobm_00_04,39500",      # 5
    "5,1001,1,Aguascalientes,Aguascalientes,MUJERES,2025,pobm_00_04,35000",  # 6 CLAVE without zero padding
    "6,15033,14,Jalisco,Ecatepec de Morelos,HOMBRES,2025,pobm_00_04,1",  # 7 CLAVE of another state
    "7,14120,14,Jalisco,Zapopan,MUJERES,2025,pobm_00_04,mucha",          # 8 not a number
    "",                                                                  # 9 blank
    "8,14120,14,Jalisco,Zapopan,HOMBRES,2025,pobm_00_04,50000",          # 10 repeated key ...
    "9,14120,14,Jalisco,Zapopan,HOMBRES,2025,pobm_00_04,50000",          # 11 ... both withheld
]


def write(path: Path, lines: list[str]) -> Path:
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("latin-1"))
    return path


def test_read_conapo_municipal(tmp_path):
    path = write(tmp_path / "base_municipios_final_datos_01.csv", LINES)
    assert detect_reference_kind(path) == "conapo_municipal"
    result = read_conapo_municipal(path, path.name)
    frame = result.frames["poblacion_municipal"]
    assert frame[["anio", "cvegeo", "cve_ent", "poblacion"]].values.tolist() == [
        [2025, "01001", "01", 35000], [2025, "14039", "14", 120000], [2026, "14039", "14", 39500]]
    assert set(frame["archivo_origen"]) == {path.name}
    assert sorted((r["fila_origen"], r["motivo"]) for r in result.cuarentena) == [
        (7, "cvegeo_de_otra_entidad"), (8, "conteo_no_numerico"), (10, "clave_duplicada"),
        (11, "clave_duplicada")]
    row = result.contabilidad().iloc[0]
    assert (row.leidas, row.cargadas, row.en_cuarentena, row.excluidas) == (9, 5, 4, 0)


def test_two_files_and_the_empty_frame(tmp_path):
    result = read_reference_dir(tmp_path)
    assert len(result.frames["poblacion_municipal"]) == 0 and "cvegeo" in result.frames["poblacion_municipal"]
    write(tmp_path / "base_municipios_final_datos_01.csv", LINES[:3])
    write(tmp_path / "base_municipios_final_datos_02.csv", [HEADER, LINES[4]])
    frame = read_reference_dir(tmp_path).frames["poblacion_municipal"]
    assert frame[["archivo_origen", "anio", "cvegeo", "poblacion"]].values.tolist() == [
        ["base_municipios_final_datos_01.csv", 2025, "14039", 81000],
        ["base_municipios_final_datos_02.csv", 2026, "14039", 39500]]
