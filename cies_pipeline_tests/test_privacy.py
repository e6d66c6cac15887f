"""privacy: which columns are refused as personal data, by header or by value."""
import pytest

from cies_pipeline.quality.privacy import personal_data_columns


@pytest.mark.parametrize("header, reason", [
    ("Nombre", "encabezado: nombre"),
    ("Nombre de la víctima", "encabezado: nombre"),
    ("APELLIDOS", "encabezado: apellido"),
    ("Apellido paterno", "encabezado: apellido"),
    ("CURP", "encabezado: CURP"),
    ("R.F.C.", "encabezado: RFC"),
    ("C.U.R.P.", "encabezado: CURP"),
    ("RFC", "encabezado: RFC"),
    ("Domicilio", "encabezado: domicilio"),
    ("Dirección", "encabezado: dirección"),
    ("Teléfono de contacto", "encabezado: teléfono"),
    ("Tel.", "encabezado: teléfono"),
    ("Correo electrónico", "encabezado: correo"),
    ("E-mail", "encabezado: correo"),
    ("Dependencia o dirección responsable", None),
    ("Observaciones", None),
])
def test_refused_by_header(header, reason):
    refused = personal_data_columns([header], {header: ["Guadalajara"]})
    assert refused.get(header) == reason


@pytest.mark.parametrize("values, reason", [
    (["GOMC850101MJCRRR09"], "valores con forma de CURP"),
    (["gomc850101mjcrrr09"], "valores con forma de CURP"),
    (["GOMC850101AB1"], "valores con forma de RFC"),
    (["maria.gomez@example.com"], "valores con forma de correo electrónico"),
    (["33 1234 5678"], "valores con forma de teléfono"),
    (["(55) 1234-5678"], "valores con forma de teléfono"),
    (["+52 33 1234 5678"], "valores con forma de teléfono"),
    (["3312345678"], "valores con forma de teléfono"),
    (["Guadalajara", None, "", "x@y.mx"], "valores con forma de correo electrónico"),
    (["Guadalajara", "14039", "2024-03-15", "15/03/2024", 1234, 3.0, "Mujer", "CIE-01/2024"], None),
])
def test_refused_by_value(values, reason):
    refused = personal_data_columns(["Dato"], {"Dato": values})
    assert refused.get("Dato") == reason


def test_contract_columns_are_never_refused_by_value():
    headers = ["Responsable", "Municipio", "Entidad", "Observaciones"]
    values = {"Responsable": ["enlace@fiscalia.gob.mx"], "Municipio": ["33 1234 5678"],
              "Entidad": ["GOMC850101AB1"], "Observaciones": ["enlace@fiscalia.gob.mx"]}
    assert personal_data_columns(headers, values) == {
        "Observaciones": "valores con forma de correo electrónico"}


def test_contract_can_be_narrowed_to_the_sheet():
    # 'Responsable' is a contract column of acuerdos only: in a carpetas sheet it is judged by value.
    values = {"Responsable": ["enlace@fiscalia.gob.mx"], "Municipio": ["Zapopan"]}
    assert personal_data_columns(["Responsable", "Municipio"], values, contract={"Municipio"}) == {
        "Responsable": "valores con forma de correo electrónico"}
