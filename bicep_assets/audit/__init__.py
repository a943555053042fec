"""Deployment history as Dagster assets: tidy DuckDB tables derived from the event log.

``bicep_assets.audit.definitions.audit_definitions`` builds the assets, checks, job and
sensors; ``bicep_assets.audit.export`` makes the documents of ``bicep-assets audit export``.
"""
