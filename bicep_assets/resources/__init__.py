"""Dagster resources: the Bicep CLI, the ARM client (Azure or the local ARM), probes."""
