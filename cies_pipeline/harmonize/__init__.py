"""Crosswalks (data files an analyst edits) and the functions that apply them. No Dagster here."""
