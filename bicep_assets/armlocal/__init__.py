"""The local Azure Resource Manager: a library with no Dagster import.

``bicep_assets.armlocal.engine`` evaluates ARM templates (the template language).
"""
