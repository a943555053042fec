"""bicep_assets: Dagster-native orchestration of Azure Bicep/ARM deployments."""

__version__ = "0.1.0"
