"""Readers: a path in, long canonical frames plus quarantine/exclusion records out. No Dagster here."""
