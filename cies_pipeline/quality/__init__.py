"""Data-quality: GX suites, personal-data refusal. No Dagster here."""
