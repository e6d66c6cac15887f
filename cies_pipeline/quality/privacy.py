"""Personal data of victims: recognising columns that must never be stored (domain.md section 7).

A column is personal data by its header (nombre, apellido, CURP, RFC, domicilio, dirección, teléfono,
correo) or by its values, but only for patterns that cannot be a place or a category (CURP, RFC, phone
number, e-mail). A contract column (a municipality, `responsable` in acuerdos ...) is never refused by
value: a state may well write an office's e-mail as the responsible party of an agreement.
"""
from __future__ import annotations

import re
from functools import lru_cache

from cies_pipeline.sources.common import label_key

# Header words that mark personal data wherever they appear in the header ("Nombre de la víctima",
# "Víctima: apellidos") ...
_PII_WORDS = {
    "nombre": "nombre", "nombres": "nombre", "apellido": "apellido", "apellidos": "apellido",
    "paterno": "apellido", "materno": "apellido", "curp": "CURP", "rfc": "RFC",
    "domicilio": "domicilio", "telefono": "teléfono", "telefonos": "teléfono", "celular": "teléfono",
    "correo": "correo", "email": "correo", "mail": "correo",
}
# ... and words that do so only when they open the header: "Dirección" alone is an address, while
# "Dependencia o dirección responsable" is an office.
_PII_FIRST_WORDS = {"direccion": "dirección", "tel": "teléfono"}

_CURP = re.compile(r"^[A-Z][AEIOUX][A-Z]{2}\d{6}[HMX][A-Z]{5}[A-Z0-9]\d$")
_RFC = re.compile(r"^[A-Z&Ñ]{3,4}\d{6}[A-Z0-9]{3}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE_CHARS = re.compile(r"^\+?[\d\s\-().]+$")


def _header_reason(header: str) -> str | None:
    words = label_key(header).split()
    if not words:
        return None
    compact = "".join(words)  # "R.F.C.", "C.U.R.P."
    if compact in ("rfc", "curp", "email"):
        return f"encabezado: {_PII_WORDS[compact]}"
    if words[0] in _PII_FIRST_WORDS:
        return f"encabezado: {_PII_FIRST_WORDS[words[0]]}"
    for word in words:
        if word in _PII_WORDS:
            return f"encabezado: {_PII_WORDS[word]}"
    return None


def _looks_like_phone(text: str) -> bool:
    if not _PHONE_CHARS.match(text):
        return False
    digits = re.sub(r"\D", "", text)
    # Mexican numbers have 10 digits, 12 with the country code 52. Separators are required below 10 +
    # something: a bare 10-digit integer could be an identifier, but states type phones with spaces/dashes.
    return 10 <= len(digits) <= 13 and (len(digits) != len(text) or len(digits) == 10)


def value_reason(value: object) -> str | None:
    """The personal-data pattern a single value matches (CURP, RFC, e-mail, phone), else None."""
    if value is None or isinstance(value, (bool, float)):
        return None
    text = str(value).strip()
    if not text:
        return None
    upper = text.upper()
    if _CURP.match(upper):
        return "valores con forma de CURP"
    if _RFC.match(upper):
        return "valores con forma de RFC"
    if _EMAIL.match(text):
        return "valores con forma de correo electrónico"
    if isinstance(value, int):
        text = str(value)
    if _looks_like_phone(text):
        return "valores con forma de teléfono"
    return None


def _contract_header_keys() -> frozenset[str]:
    from cies_pipeline.harmonize.crosswalks import crosswalk_version

    # Keyed by the crosswalk's version, so crosswalks.clear_cache() after an analyst's edit takes effect.
    return _contract_header_keys_of(crosswalk_version("cabeceras"))


@lru_cache(maxsize=4)
def _contract_header_keys_of(version: str) -> frozenset[str]:
    from cies_pipeline.harmonize.crosswalks import load_crosswalk

    aliases = load_crosswalk("cabeceras")
    return frozenset(label_key(a) for a in list(aliases["alias"]) + list(aliases["canonica"]))


def personal_data_columns(headers: list[str], sample_values: dict[str, list],
                          contract: set[str] | None = None) -> dict[str, str]:
    """header -> reason, for the columns refused as personal data.

    `contract` names the headers that are contract columns of the sheet being read (never refused, by
    header or value); by default any header that is an alias in `cabeceras.csv` counts as one.
    """
    contract_keys = {label_key(h) for h in contract} if contract is not None else _contract_header_keys()
    refused: dict[str, str] = {}
    for header in headers:
        header_text = "" if header is None else str(header)
        if label_key(header_text) in contract_keys and label_key(header_text):
            continue
        reason = _header_reason(header_text)
        if reason is None:
            for value in sample_values.get(header, []):
                reason = value_reason(value)
                if reason:
                    break
        if reason:
            refused[header] = reason
    return refused
