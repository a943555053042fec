"""Azure regions as the emulated services report them: display names and geo pairs."""

from __future__ import annotations

# Programmatic name → display name ("westeurope" → "West Europe"), for the regions most
# templates use; others are reported as given.
_DISPLAY = {
    "australiaeast": "Australia East",
    "australiasoutheast": "Australia Southeast",
    "brazilsouth": "Brazil South",
    "canadacentral": "Canada Central",
    "canadaeast": "Canada East",
    "centralindia": "Central India",
    "centralus": "Central US",
    "eastasia": "East Asia",
    "eastus": "East US",
    "eastus2": "East US 2",
    "francecentral": "France Central",
    "francesouth": "France South",
    "germanynorth": "Germany North",
    "germanywestcentral": "Germany West Central",
    "japaneast": "Japan East",
    "japanwest": "Japan West",
    "koreacentral": "Korea Central",
    "koreasouth": "Korea South",
    "northcentralus": "North Central US",
    "northeurope": "North Europe",
    "norwayeast": "Norway East",
    "norwaywest": "Norway West",
    "southcentralus": "South Central US",
    "southeastasia": "Southeast Asia",
    "southindia": "South India",
    "swedencentral": "Sweden Central",
    "swedensouth": "Sweden South",
    "switzerlandnorth": "Switzerland North",
    "switzerlandwest": "Switzerland West",
    "uksouth": "UK South",
    "ukwest": "UK West",
    "westcentralus": "West Central US",
    "westeurope": "West Europe",
    "westus": "West US",
    "westus2": "West US 2",
    "westus3": "West US 3",
}

# Azure's cross-region pairs (where geo-redundant storage keeps its secondary copy).
_PAIRS = {
    "australiaeast": "australiasoutheast",
    "brazilsouth": "southcentralus",
    "canadacentral": "canadaeast",
    "centralindia": "southindia",
    "centralus": "eastus2",
    "eastasia": "southeastasia",
    "eastus": "westus",
    "eastus2": "centralus",
    "francecentral": "francesouth",
    "germanywestcentral": "germanynorth",
    "japaneast": "japanwest",
    "koreacentral": "koreasouth",
    "northcentralus": "southcentralus",
    "northeurope": "westeurope",
    "norwayeast": "norwaywest",
    "southcentralus": "northcentralus",
    "swedencentral": "swedensouth",
    "switzerlandnorth": "switzerlandwest",
    "uksouth": "ukwest",
    "westcentralus": "westus2",
    "westeurope": "northeurope",
    "westus": "eastus",
    "westus2": "westcentralus",
    "westus3": "eastus",
}
_PAIRS.update({b: a for a, b in list(_PAIRS.items()) if b not in _PAIRS})


def normalize(location: str) -> str:
    """ARM's programmatic form of a location: ``"West Europe"`` → ``"westeurope"``."""
    return location.replace(" ", "").lower()


def display_name(location: str) -> str:
    """``"westeurope"`` → ``"West Europe"``; unknown regions come back unchanged."""
    return _DISPLAY.get(normalize(location), location)


def paired_region(location: str) -> str | None:
    """The region paired with ``location`` (``None`` when it has no known pair)."""
    return _PAIRS.get(normalize(location))
