"""Resource names as the resource providers check them: the rules of the modelled types.

The facts — length, allowed characters, how a name may start and end, where it must be
unique — are those of Microsoft's "Naming rules and restrictions for Azure resources"
(learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules, March
2025), for the resource types the local ARM models. Each rule is one row of
:data:`NAME_RULES`; :func:`name_error` applies a rule and answers what the provider answers:
Storage's ``AccountNameInvalid`` and Key Vault's ``VaultNameNotValid`` with their messages,
ARM's ``InvalidResourceName`` for every other type. Names are compared case-insensitively
everywhere else, as ARM does; only the character classes below decide case.

Character classes in a rule: ``a`` lowercase ASCII letters, ``A`` uppercase ASCII letters,
``0`` digits, ``u`` other Unicode letters and digits (App Service maps them to Punycode),
any other character stands for itself. An empty ``chars`` means "any character except the
``forbidden`` ones and control characters".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

SOURCE = "Microsoft's 'Naming rules and restrictions for Azure resources'"
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class NameRule:
    """One row of the naming rules page (see the module docstring for the classes)."""

    low: int
    high: int
    chars: str = ""  # allowed character classes; "" = anything but `forbidden`
    forbidden: str = ""
    start: str = ""  # classes allowed first ("" = any allowed character)
    end: str = ""  # classes allowed last
    not_end: str = ""  # characters a name cannot end with
    no_double_hyphen: bool = False
    scope: str = "resource group"  # where the name must be unique
    fixed: str | None = None  # the one name the type allows
    guid: bool = False  # the name is a GUID
    builtin: tuple[str, ...] = ()  # lowercase names the service itself gives (and accepts)


_ALNUM_HYPHEN = "aA0-"
_NETWORK = NameRule(1, 80, "aA0_.-", start="aA0", end="aA0_")  # most Microsoft.Network types
_MESSAGING_CHILD = NameRule(1, 50, "aA0.-_", start="aA0", end="aA0", scope="namespace")
_DEFAULT_ONLY = NameRule(7, 7, fixed="default", scope="storage account")

# resource type → rule, for the types the local ARM models (and their fixed-name parents)
NAME_RULES: dict[str, NameRule] = {
    "Microsoft.App/containerApps": NameRule(2, 32, "a0-", start="a", end="a0"),
    "Microsoft.Authorization/roleAssignments": NameRule(36, 36, guid=True, scope="tenant"),
    "Microsoft.Cache/redis": NameRule(
        1, 63, _ALNUM_HYPHEN, start="aA0", end="aA0", no_double_hyphen=True, scope="global"
    ),
    "Microsoft.ContainerRegistry/registries": NameRule(5, 50, "aA0", scope="global"),
    "Microsoft.DevTestLab/labs": NameRule(1, 50, "aA0_-"),
    "Microsoft.DocumentDB/databaseAccounts": NameRule(3, 44, "a0-", start="a0", scope="global"),
    "Microsoft.EventGrid/domains": NameRule(3, 50, _ALNUM_HYPHEN),
    "Microsoft.EventGrid/topics": NameRule(3, 50, _ALNUM_HYPHEN, scope="region"),
    "Microsoft.EventHub/namespaces": NameRule(
        6, 50, _ALNUM_HYPHEN, start="aA", end="aA0", scope="global"
    ),
    "Microsoft.EventHub/namespaces/authorizationRules": _MESSAGING_CHILD,
    "Microsoft.EventHub/namespaces/eventhubs": NameRule(
        1, 256, "aA0.-_", start="aA0", end="aA0", scope="namespace"
    ),
    "Microsoft.EventHub/namespaces/eventhubs/authorizationRules": _MESSAGING_CHILD,
    # every event hub has the consumer group '$Default' (Event Hubs' "Features and
    # terminology"); templates PUT it to configure it, and Event Hubs accepts that
    "Microsoft.EventHub/namespaces/eventhubs/consumergroups": replace(
        _MESSAGING_CHILD, builtin=("$default",)
    ),
    "Microsoft.Insights/components": NameRule(1, 260, forbidden="%&\\?/", not_end=". "),
    "Microsoft.KeyVault/vaults": NameRule(
        3, 24, _ALNUM_HYPHEN, start="aA", end="aA0", no_double_hyphen=True, scope="global"
    ),
    "Microsoft.KeyVault/vaults/secrets": NameRule(1, 127, _ALNUM_HYPHEN, scope="vault"),
    "Microsoft.ManagedIdentity/userAssignedIdentities": NameRule(3, 128, "aA0-_", start="aA0"),
    "Microsoft.Network/applicationGateways": _NETWORK,
    "Microsoft.Network/applicationSecurityGroups": _NETWORK,
    "Microsoft.Network/azureFirewalls": _NETWORK,
    "Microsoft.Network/bastionHosts": _NETWORK,
    "Microsoft.Network/connections": _NETWORK,
    "Microsoft.Network/expressRouteCircuits": _NETWORK,
    "Microsoft.Network/firewallPolicies": _NETWORK,
    "Microsoft.Network/frontDoors": NameRule(
        5, 64, _ALNUM_HYPHEN, start="aA0", end="aA0", scope="global"
    ),
    "Microsoft.Network/loadBalancers": _NETWORK,
    "Microsoft.Network/loadBalancers/inboundNatRules": _NETWORK,
    "Microsoft.Network/localNetworkGateways": _NETWORK,
    "Microsoft.Network/networkInterfaces": _NETWORK,
    "Microsoft.Network/networkSecurityGroups": _NETWORK,
    "Microsoft.Network/networkSecurityGroups/securityRules": _NETWORK,
    "Microsoft.Network/networkWatchers": _NETWORK,
    "Microsoft.Network/privateDnsZones/virtualNetworkLinks": _NETWORK,
    "Microsoft.Network/privateEndpoints": NameRule(2, 64, "aA0_.-", start="aA0", end="aA0_"),
    "Microsoft.Network/privateLinkServices": NameRule(2, 64, "aA0_.-", start="aA0", end="aA0_"),
    "Microsoft.Network/publicIPAddresses": _NETWORK,
    "Microsoft.Network/publicIPPrefixes": _NETWORK,
    "Microsoft.Network/routeFilters": _NETWORK,
    "Microsoft.Network/routeTables": _NETWORK,
    "Microsoft.Network/routeTables/routes": _NETWORK,
    "Microsoft.Network/serviceEndpointPolicies": _NETWORK,
    "Microsoft.Network/trafficManagerProfiles": NameRule(
        1, 63, _ALNUM_HYPHEN, start="aA0", end="aA0", scope="global"
    ),
    "Microsoft.Network/virtualNetworkGateways": _NETWORK,
    "Microsoft.Network/virtualNetworks": NameRule(2, 64, "aA0_.-", start="aA0", end="aA0_"),
    "Microsoft.Network/virtualNetworks/subnets": _NETWORK,
    "Microsoft.Network/virtualNetworks/virtualNetworkPeerings": _NETWORK,
    "Microsoft.Network/virtualWans": _NETWORK,
    "Microsoft.Network/vpnGateways": _NETWORK,
    "Microsoft.Network/vpnSites": _NETWORK,
    "Microsoft.OperationalInsights/workspaces": NameRule(
        4, 63, _ALNUM_HYPHEN, start="aA0", end="aA0"
    ),
    "Microsoft.ServiceBus/namespaces": NameRule(
        6, 50, _ALNUM_HYPHEN, start="aA", end="aA0", scope="global"
    ),
    "Microsoft.ServiceBus/namespaces/authorizationRules": _MESSAGING_CHILD,
    "Microsoft.ServiceBus/namespaces/queues": NameRule(
        1, 260, "aA0.-_/", start="aA0", end="aA0", scope="namespace"
    ),
    "Microsoft.ServiceBus/namespaces/queues/authorizationRules": _MESSAGING_CHILD,
    "Microsoft.ServiceBus/namespaces/topics": NameRule(
        1, 260, "aA0.-_/", start="aA0", end="aA0", scope="namespace"
    ),
    "Microsoft.ServiceBus/namespaces/topics/authorizationRules": _MESSAGING_CHILD,
    "Microsoft.ServiceBus/namespaces/topics/subscriptions": _MESSAGING_CHILD,
    "Microsoft.SignalRService/signalR": NameRule(
        3, 63, _ALNUM_HYPHEN, start="aA", end="aA0", scope="global"
    ),
    "Microsoft.Sql/servers": NameRule(1, 63, "a0-", start="a0", end="a0", scope="global"),
    "Microsoft.Sql/servers/databases": NameRule(
        1, 128, forbidden="<>*%&:\\/?", not_end=". ", scope="server"
    ),
    "Microsoft.Storage/storageAccounts": NameRule(3, 24, "a0", scope="global"),
    "Microsoft.Storage/storageAccounts/blobServices": _DEFAULT_ONLY,
    "Microsoft.Storage/storageAccounts/blobServices/containers": NameRule(
        3, 63, "a0-", start="a0", no_double_hyphen=True, scope="storage account"
    ),
    "Microsoft.Storage/storageAccounts/fileServices": _DEFAULT_ONLY,
    "Microsoft.Storage/storageAccounts/fileServices/shares": NameRule(
        3, 63, "a0-", start="a0", end="a0", no_double_hyphen=True, scope="storage account"
    ),
    "Microsoft.Storage/storageAccounts/managementPolicies": _DEFAULT_ONLY,
    "Microsoft.Web/serverfarms": NameRule(1, 60, "aA0-u"),
    "Microsoft.Web/sites": NameRule(2, 60, "aA0-u", start="aA0u", end="aA0u", scope="global"),
    "Microsoft.Web/sites/slots": NameRule(2, 59, "aA0-u", scope="site"),
}
_BY_TYPE = {key.lower(): rule for key, rule in NAME_RULES.items()}

_CLASS_WORDS = {
    "-": "hyphens",
    "_": "underscores",
    ".": "periods",
    "/": "slashes",
    " ": "spaces",
}
_UNICODE_TOO = " (Unicode letters and digits too)"
SHOWN_MAX = 100  # longer names and locations are shown cut, with their length


def rule_for(resource_type: str) -> NameRule | None:
    """The naming rule of ``resource_type`` (case-insensitive), None for unmodelled types."""
    return _BY_TYPE.get(resource_type.lower())


def shown(text: str) -> str:
    """``text`` as an error message quotes it: control characters escaped, and cut (with its
    length) when longer than :data:`SHOWN_MAX` — error messages stay short and one line."""
    if len(text) > SHOWN_MAX:
        cut = text[:64]
        suffix = f"… ({len(text):,} characters)"
    else:
        cut, suffix = text, ""
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in cut) + suffix


def _in_class(char: str, classes: str) -> bool:
    if char in classes and char not in "aA0u":
        return True
    if char.isascii():
        return (
            ("a" in classes and "a" <= char <= "z")
            or ("A" in classes and "A" <= char <= "Z")
            or ("0" in classes and "0" <= char <= "9")
        )
    return "u" in classes and char.isalnum()


def _allowed(char: str, rule: NameRule) -> bool:
    if rule.chars:
        return _in_class(char, rule.chars)
    return char.isprintable() and char not in rule.forbidden


def _nouns(classes: str, *, plural: bool) -> list[str]:
    letters = {"aA": "letter", "a": "lowercase letter", "A": "uppercase letter"}
    key = "".join(c for c in "aA" if c in classes)
    nouns = [letters[key]] if key else []
    if "0" in classes:
        nouns.append("digit")
    if plural:
        nouns = [n + "s" for n in nouns]
    others = [c for c in classes if c not in "aA0u"]
    nouns += [_CLASS_WORDS.get(c, f"'{c}'") if plural else f"'{c}'" for c in others]
    return nouns


def _join(nouns: list[str], last: str) -> str:
    return nouns[0] if len(nouns) == 1 else ", ".join(nouns[:-1]) + f" {last} " + nouns[-1]


def _words(classes: str) -> str:
    """``"a0-"`` → ``"lowercase letters, digits and hyphens"``."""
    text = _join(_nouns(classes, plural=True), "and")
    return text + (_UNICODE_TOO if "u" in classes else "")


def _one_of(classes: str) -> str:
    """``"aA0"`` → ``"a letter or digit"``."""
    text = "a " + _join(_nouns(classes, plural=False), "or")
    return text + (_UNICODE_TOO if "u" in classes else "")


def describe(rule: NameRule) -> str:
    """What ``rule`` asks of a name, as a noun phrase ("3-24 characters of …")."""
    if rule.fixed is not None:
        return f"'{rule.fixed}'"
    if rule.guid:
        return "a GUID"
    length = f"{rule.low}-{rule.high}" if rule.low != rule.high else str(rule.low)
    if rule.chars:
        text = f"{length} characters of {_words(rule.chars)}"
    else:
        text = f"{length} characters other than {rule.forbidden} and control characters"
    if rule.start and rule.start == rule.end:
        text += f", starting and ending with {_one_of(rule.start)}"
    else:
        if rule.start:
            text += f", starting with {_one_of(rule.start)}"
        if rule.end:
            text += f", ending with {_one_of(rule.end)}"
    if rule.not_end:
        ends = " or ".join("a space" if c == " " else f"'{c}'" for c in rule.not_end)
        text += f", not ending with {ends}"
    if rule.no_double_hyphen:
        text += ", without consecutive hyphens"
    return text


def violation(rule: NameRule, name: str) -> str | None:
    """How ``name`` breaks ``rule`` ("it is 25 characters long"…), None when it does not."""
    if name.lower() in rule.builtin:
        return None
    if rule.fixed is not None:
        return None if name.lower() == rule.fixed else "it is not the one name allowed"
    if rule.guid:
        return None if GUID.fullmatch(name) else "it is not a GUID"
    if not rule.low <= len(name) <= rule.high:
        return f"it is {len(name):,} character{'' if len(name) == 1 else 's'} long"
    for char in name:
        if not _allowed(char, rule):
            return f"it contains '{shown(char)}'"
    if rule.start and not _in_class(name[0], rule.start):
        return f"it starts with '{shown(name[0])}'"
    if rule.end and not _in_class(name[-1], rule.end):
        return f"it ends with '{shown(name[-1])}'"
    if rule.not_end and name[-1] in rule.not_end:
        return f"it ends with '{name[-1]}'"
    if rule.no_double_hyphen and "--" in name:
        return "it contains consecutive hyphens"
    return None


def name_error(resource_type: str, name: str) -> dict[str, Any] | None:
    """The resource provider's error (``{"code", "message"}``) for a resource of
    ``resource_type`` named ``name`` (its own segment: ``c1`` of ``sa/default/c1``), or None
    when the name is valid or the type has no rule."""
    rule = rule_for(resource_type)
    if rule is None:
        return None
    problem = violation(rule, name)
    if problem is None:
        return None
    kind = resource_type.lower()
    if kind == "microsoft.storage/storageaccounts":
        return {
            "code": "AccountNameInvalid",
            "message": f"{shown(name)} is not a valid storage account name. Storage account "
            "name must be between 3 and 24 characters in length and use numbers and "
            "lower-case letters only.",
        }
    if kind == "microsoft.keyvault/vaults":
        return {
            "code": "VaultNameNotValid",
            "message": f"The vault name '{shown(name)}' is invalid. A vault's name must be "
            "between 3-24 alphanumeric characters. The name must begin with a letter, end "
            "with a letter or digit, and not contain consecutive hyphens.",
        }
    return {
        "code": "InvalidResourceName",
        "message": f"The resource name '{shown(name)}' is invalid for resource type "
        f"'{resource_type}': {problem}. The name must be {describe(rule)} ({SOURCE}).",
    }
