"""Azure regions as the local ARM knows them: which locations exist, their display names and
geo pairs, and which modelled resource types must live in a region.

The regions are those of Microsoft's "Azure regions list" (learn.microsoft.com/azure/
reliability/regions-list, September 2025): the public cloud's regions by programmatic name,
with their display names and paired regions. Regions the page marks "coming soon" are left
out (ARM does not accept them yet); restricted-access regions are in (they exist, and ARM
accepts them for subscriptions that have access). ``global`` is the location of resources
that live in no region (DNS zones, Front Door, Traffic Manager…).
"""

from __future__ import annotations

# programmatic name: (display name, paired region or None)
_REGIONS: dict[str, tuple[str, str | None]] = {
    "australiacentral": ("Australia Central", "australiacentral2"),
    "australiacentral2": ("Australia Central 2", "australiacentral"),
    "australiaeast": ("Australia East", "australiasoutheast"),
    "australiasoutheast": ("Australia Southeast", "australiaeast"),
    "austriaeast": ("Austria East", None),
    "belgiumcentral": ("Belgium Central", None),
    "brazilsouth": ("Brazil South", "southcentralus"),
    "brazilsoutheast": ("Brazil Southeast", "brazilsouth"),
    "canadacentral": ("Canada Central", "canadaeast"),
    "canadaeast": ("Canada East", "canadacentral"),
    "centralindia": ("Central India", "southindia"),
    "centralus": ("Central US", "eastus2"),
    "chilecentral": ("Chile Central", None),
    "eastasia": ("East Asia", "southeastasia"),
    "eastus": ("East US", "westus"),
    "eastus2": ("East US 2", "centralus"),
    "francecentral": ("France Central", "francesouth"),
    "francesouth": ("France South", "francecentral"),
    "germanynorth": ("Germany North", "germanywestcentral"),
    "germanywestcentral": ("Germany West Central", "germanynorth"),
    "indonesiacentral": ("Indonesia Central", None),
    "israelcentral": ("Israel Central", None),
    "italynorth": ("Italy North", None),
    "japaneast": ("Japan East", "japanwest"),
    "japanwest": ("Japan West", "japaneast"),
    "koreacentral": ("Korea Central", "koreasouth"),
    "koreasouth": ("Korea South", "koreacentral"),
    "malaysiawest": ("Malaysia West", None),
    "mexicocentral": ("Mexico Central", None),
    "newzealandnorth": ("New Zealand North", None),
    "northcentralus": ("North Central US", "southcentralus"),
    "northeurope": ("North Europe", "westeurope"),
    "norwayeast": ("Norway East", "norwaywest"),
    "norwaywest": ("Norway West", "norwayeast"),
    "polandcentral": ("Poland Central", None),
    "qatarcentral": ("Qatar Central", None),
    "southafricanorth": ("South Africa North", "southafricawest"),
    "southafricawest": ("South Africa West", "southafricanorth"),
    "southcentralus": ("South Central US", "northcentralus"),
    "southeastasia": ("Southeast Asia", "eastasia"),
    "southindia": ("South India", "centralindia"),
    "spaincentral": ("Spain Central", None),
    "swedencentral": ("Sweden Central", "swedensouth"),
    "swedensouth": ("Sweden South", "swedencentral"),  # named as Sweden Central's pair
    "switzerlandnorth": ("Switzerland North", "switzerlandwest"),
    "switzerlandwest": ("Switzerland West", "switzerlandnorth"),
    "uaecentral": ("UAE Central", "uaenorth"),
    "uaenorth": ("UAE North", "uaecentral"),
    "uksouth": ("UK South", "ukwest"),
    "ukwest": ("UK West", "uksouth"),
    "westcentralus": ("West Central US", "westus2"),
    "westeurope": ("West Europe", "northeurope"),
    "westindia": ("West India", "southindia"),
    "westus": ("West US", "eastus"),
    "westus2": ("West US 2", "westcentralus"),
    "westus3": ("West US 3", "eastus"),
}

GLOBAL = "global"

# Modelled resource types that always live in one region: ``global`` is refused for them.
# (Other types — DNS zones, Front Door, action groups, types the local ARM does not model —
# may also be ``global``.)
REGIONAL_TYPES = frozenset(
    t.lower()
    for t in (
        "Microsoft.App/containerApps",
        "Microsoft.App/managedEnvironments",
        "Microsoft.Cache/redis",
        "Microsoft.ContainerRegistry/registries",
        "Microsoft.DevTestLab/labs",
        "Microsoft.DocumentDB/databaseAccounts",
        "Microsoft.EventGrid/domains",
        "Microsoft.EventGrid/topics",
        "Microsoft.EventHub/namespaces",
        "Microsoft.Insights/components",
        "Microsoft.KeyVault/vaults",
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "Microsoft.Network/applicationGateways",
        "Microsoft.Network/loadBalancers",
        "Microsoft.Network/networkInterfaces",
        "Microsoft.Network/networkSecurityGroups",
        "Microsoft.Network/privateEndpoints",
        "Microsoft.Network/publicIPAddresses",
        "Microsoft.Network/virtualNetworks",
        "Microsoft.OperationalInsights/workspaces",
        "Microsoft.ServiceBus/namespaces",
        "Microsoft.SignalRService/signalR",
        "Microsoft.SignalRService/webPubSub",
        "Microsoft.Sql/servers",
        "Microsoft.Sql/servers/databases",
        "Microsoft.Storage/storageAccounts",
        "Microsoft.Web/serverfarms",
        "Microsoft.Web/sites",
        "Microsoft.Web/sites/slots",
    )
)


def normalize(location: str) -> str:
    """ARM's programmatic form of a location: ``"West Europe"`` → ``"westeurope"``."""
    return location.replace(" ", "").lower()


def is_region(location: str) -> bool:
    """Whether ``location`` names an Azure region (programmatic or display name, any case)."""
    return normalize(location) in _REGIONS


def region_names() -> list[str]:
    """Every region's programmatic name, sorted."""
    return sorted(_REGIONS)


def accepts(resource_type: str, location: str) -> bool:
    """Whether a resource of ``resource_type`` may be created in ``location``: a region, or
    ``global`` for types that do not live in a region."""
    if is_region(location):
        return True
    return normalize(location) == GLOBAL and resource_type.lower() not in REGIONAL_TYPES


def display_name(location: str) -> str:
    """``"westeurope"`` → ``"West Europe"``; unknown regions come back unchanged."""
    known = _REGIONS.get(normalize(location))
    return known[0] if known else location


def paired_region(location: str) -> str | None:
    """The region paired with ``location`` (``None`` when it has no pair)."""
    known = _REGIONS.get(normalize(location))
    return known[1] if known else None
