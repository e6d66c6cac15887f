import pandas as pd

from cies_pipeline.governance import cie_estatus


def test_cie_estatus_always_32_rows_with_agreement_counts():
    comite = pd.DataFrame({
        "cve_ent": ["14", "20"], "instalado": pd.array([True, False], dtype="boolean"),
        "fecha_instalacion": [pd.Timestamp("2019-05-02"), pd.NaT], "instrumento_juridico": ["Decreto", None],
        "sesiones_ordinarias": pd.array([3, 0], dtype="Int64"), "sesiones_extraordinarias": pd.array([1, 0], dtype="Int64"),
        "fecha_ultima_sesion": [pd.Timestamp("2025-10-01"), pd.NaT],
        "usuarios_sintra_asignados": pd.array([5, 0], dtype="Int64"),
        "usuarios_sintra_capacitados": pd.array([4, 0], dtype="Int64"),
        "fecha_primera_carga_sintra": [pd.Timestamp("2025-02-01"), pd.NaT], "archivo_origen": ["jal.xlsx", "oax.xlsx"]})
    acuerdos = pd.DataFrame({"cve_ent": ["14", "14", "14", "14", "20"],
                             "estatus": ["Cumplido", "Cumplido", "Pendiente", "Cancelado", "Cancelado"]})
    periodos = [pd.DataFrame({"cve_ent": ["14", "14"], "periodo": pd.to_datetime(["2025-01-01", "2025-09-01"])})]
    out = cie_estatus(comite, acuerdos, periodos).set_index("cve_ent")
    assert len(out) == 32
    assert out.loc["14", "acuerdos_total"] == 3 and out.loc["14", "acuerdos_cumplidos"] == 2
    assert out.loc["20", "acuerdos_total"] == 0  # only a cancelled one
    assert out.loc["20", "instalado"] == False  # noqa: E712 (pandas boolean)
    assert pd.isna(out.loc["01", "instalado"]) and pd.isna(out.loc["01", "acuerdos_total"])
    assert out.loc["14", "ultimo_reporte"] == pd.Timestamp("2025-09-01")
    assert pd.isna(out.loc["20", "ultimo_reporte"])
