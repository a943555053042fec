"""What-if: desired state (an engine expansion) against current state → WhatIfOperationResult."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bicep_assets.armlocal.engine import DeploymentContext, Expansion, expand
from bicep_assets.armlocal.engine.sample_parameters import sample_parameters
from bicep_assets.armlocal.service.whatif import diff, read_only_matcher, what_if

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
SUB = "00000000-0000-0000-0000-000000000000"
RG_ID = f"/subscriptions/{SUB}/resourceGroups/rg"
OTHER_RG_ID = f"/subscriptions/{SUB}/resourceGroups/other"
CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "arm-corpus"


def rid(rtype: str, *names: str, group: str = RG_ID) -> str:
    namespace, *types = rtype.split("/")
    path = "/".join(f"{t}/{n}" for t, n in zip(types, names, strict=True))
    return f"{group}/providers/{namespace}/{path}"


SA_ID = rid("Microsoft.Storage/storageAccounts", "sa1")
APP_ID = rid("Microsoft.Web/sites", "app")
IP_ID = rid("Microsoft.Network/publicIPAddresses", "ip")


def template(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": list(resources)}


def storage(**properties: Any) -> dict[str, Any]:
    return {
        "type": "Microsoft.Storage/storageAccounts",
        "apiVersion": "2023-01-01",
        "name": "sa1",
        "location": "westeurope",
        "sku": {"name": "Standard_LRS"},
        "properties": properties,
    }


def public_ip(name: str = "ip") -> dict[str, Any]:
    return {
        "type": "Microsoft.Network/publicIPAddresses",
        "apiVersion": "2023-04-01",
        "name": name,
        "location": "westeurope",
    }


def nested(name: str, *resources: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": "2022-09-01",
        "name": name,
        **extra,
        "properties": {
            "mode": extra.pop("mode", "Incremental"),
            "expressionEvaluationOptions": {"scope": "inner"},
            "template": template(*resources),
        },
    }


def expansion_of(*resources: dict[str, Any], mode: str = "Incremental") -> Expansion:
    return expand(template(*resources), {}, DeploymentContext(mode=mode))  # type: ignore[arg-type]


class State:
    """Current resources by id (ignoring case), as the store's GET would return them."""

    def __init__(self, *resources: dict[str, Any]) -> None:
        self.resources = {r["id"].lower(): r for r in resources}

    def get_resource(self, resource_id: str) -> dict[str, Any] | None:
        return self.resources.get(resource_id.lower())

    def __call__(self, resource_id: str) -> dict[str, Any] | None:
        return self.get_resource(resource_id)

    def listed(self) -> list[dict[str, Any]]:
        return list(self.resources.values())


def current_storage(**properties: Any) -> dict[str, Any]:
    return {
        "id": SA_ID,
        "name": "sa1",
        "type": "Microsoft.Storage/storageAccounts",
        "location": "westeurope",
        "sku": {"name": "Standard_LRS"},
        "properties": properties,
    }


def changes(result: dict[str, Any]) -> list[dict[str, Any]]:
    assert result["status"] == "Succeeded"
    return result["properties"]["changes"]


def kinds(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["resourceId"], c["changeType"]) for c in changes(result)]


# --- diff: property changes ------------------------------------------------------------------

DIFF_CASES = [
    pytest.param({"a": 1, "b": [1, {"c": "x"}]}, {"a": 1, "b": [1, {"c": "x"}]}, [], id="equal"),
    pytest.param(
        {"properties": {"siteConfig": {"alwaysOn": True, "http20Enabled": True}}},
        {"properties": {"siteConfig": {"alwaysOn": False, "http20Enabled": True}}},
        [
            {
                "path": "properties.siteConfig.alwaysOn",
                "propertyChangeType": "Modify",
                "before": True,
                "after": False,
            }
        ],
        id="leaf-modify-flattened-path",
    ),
    pytest.param(
        {"tags": {"owner": "a"}},
        {"tags": {"owner": "a", "env": "dev"}},
        [{"path": "tags.env", "propertyChangeType": "Create", "after": "dev"}],
        id="property-create",
    ),
    pytest.param(
        {"tags": {"owner": "a", "env": "dev"}},
        {"tags": {"env": "dev"}},
        [{"path": "tags.owner", "propertyChangeType": "Delete", "before": "a"}],
        id="property-delete",
    ),
    pytest.param(
        {"properties": {}},
        {"properties": {"encryption": {"keySource": "Microsoft.Storage"}}},
        [
            {
                "path": "properties.encryption",
                "propertyChangeType": "Create",
                "after": {"keySource": "Microsoft.Storage"},
            }
        ],
        id="whole-object-create",
    ),
    pytest.param(
        {"properties": {"enabled": True}},
        {"properties": {"enabled": 1}},
        [
            {
                "path": "properties.enabled",
                "propertyChangeType": "Modify",
                "before": True,
                "after": 1,
            }
        ],
        id="true-is-not-1",
    ),
    pytest.param(
        {"properties": {"count": 2}},
        {"properties": {"count": "2"}},
        [{"path": "properties.count", "propertyChangeType": "Modify", "before": 2, "after": "2"}],
        id="number-is-not-string",
    ),
    pytest.param({"location": "West Europe"}, {"location": "westeurope"}, [], id="location-spaces"),
    pytest.param(
        {"location": "westeurope"},
        {"location": "northeurope"},
        [
            {
                "path": "location",
                "propertyChangeType": "Modify",
                "before": "westeurope",
                "after": "northeurope",
            }
        ],
        id="location-modify",
    ),
    pytest.param(
        {"properties": {"name": "West Europe"}},
        {"properties": {"name": "westeurope"}},
        [
            {
                "path": "properties.name",
                "propertyChangeType": "Modify",
                "before": "West Europe",
                "after": "westeurope",
            }
        ],
        id="other-strings-keep-case",
    ),
    pytest.param(
        {"properties": {"subnet": {"id": SA_ID.lower()}}},
        {"properties": {"subnet": {"id": SA_ID}}},
        [],
        id="resource-id-case",
    ),
    pytest.param(
        {"properties": {"AlwaysOn": True}},
        {"properties": {"alwaysOn": True}},
        [],
        id="property-names-ignore-case",
    ),
    pytest.param(
        {"tags": {"a": "1"}, "kind": None},
        {"tags": None},
        [{"path": "tags", "propertyChangeType": "Delete", "before": {"a": "1"}}],
        id="null-is-not-set",
    ),
    pytest.param(
        {
            "id": SA_ID.upper(),
            "type": "microsoft.storage/storageaccounts",
            "etag": "1",
            "systemData": {"createdBy": "x"},
            "apiVersion": "2022-01-01",
            "name": "SA1",
        },
        {
            "id": SA_ID,
            "type": "Microsoft.Storage/storageAccounts",
            "apiVersion": "2023-01-01",
            "name": "sa1",
        },
        [],
        id="envelope-not-compared",
    ),
    pytest.param(
        {"properties": {}, "tags": {}, "zones": []},
        {"identity": {}},
        [],
        id="empty-collections-against-nothing",
    ),
    pytest.param(
        {"tags": {"a": "1"}},
        {"tags": {}},
        [{"path": "tags.a", "propertyChangeType": "Delete", "before": "1"}],
        id="emptied-collection-deletes",
    ),
    pytest.param(
        {"properties": {"x": {"a": 1}}},
        {"properties": {"x": "[reference('y').a]"}},
        [
            {
                "path": "properties.x",
                "propertyChangeType": "Modify",
                "before": {"a": 1},
                "after": "[reference('y').a]",
            }
        ],
        id="type-change",
    ),
]


@pytest.mark.parametrize(("before", "after", "expected"), DIFF_CASES)
def test_diff(before: Any, after: Any, expected: list[dict[str, Any]]) -> None:
    assert diff(before, after) == expected


ARRAY_CASES = [
    pytest.param(
        ["10.0.0.0/16"],
        ["10.0.0.0/15"],
        [
            {"path": "0", "propertyChangeType": "Delete", "before": "10.0.0.0/16"},
            {"path": "0", "propertyChangeType": "Create", "after": "10.0.0.0/15"},
        ],
        id="primitive-replaced",
    ),
    pytest.param(
        ["a", "b"],
        ["a", "b", "c"],
        [{"path": "2", "propertyChangeType": "Create", "after": "c"}],
        id="element-added",
    ),
    pytest.param(
        ["a", "b", "c"],
        ["a", "c"],
        [{"path": "1", "propertyChangeType": "Delete", "before": "b"}],
        id="element-removed-from-middle",
    ),
    pytest.param(
        ["a", "b"],
        ["x", "a", "b"],
        [{"path": "0", "propertyChangeType": "Create", "after": "x"}],
        id="element-inserted-at-front",
    ),
    pytest.param(
        [{"name": "s1", "prefix": "10.0.0.0/24"}, {"name": "s2", "prefix": "10.0.1.0/24"}],
        [{"name": "s2", "prefix": "10.0.1.0/24"}],
        [
            {
                "path": "0",
                "propertyChangeType": "Delete",
                "before": {"name": "s1", "prefix": "10.0.0.0/24"},
            }
        ],
        id="object-element-removed",
    ),
    pytest.param(
        [{"name": "s1", "p": {"prefix": "10.0.0.0/24"}}, {"name": "s2"}],
        [{"name": "s1", "p": {"prefix": "10.0.9.0/24"}}, {"name": "s2"}],
        [
            {
                "path": "0",
                "propertyChangeType": "Modify",
                "before": {"name": "s1", "p": {"prefix": "10.0.0.0/24"}},
                "after": {"name": "s1", "p": {"prefix": "10.0.9.0/24"}},
                "children": [
                    {
                        "path": "p.prefix",
                        "propertyChangeType": "Modify",
                        "before": "10.0.0.0/24",
                        "after": "10.0.9.0/24",
                    }
                ],
            }
        ],
        id="object-element-modified-in-place",
    ),
    pytest.param(
        [{"rules": ["a"]}],
        [{"rules": ["a", "b"]}],
        [
            {
                "path": "0",
                "propertyChangeType": "Modify",
                "before": {"rules": ["a"]},
                "after": {"rules": ["a", "b"]},
                "children": [
                    {
                        "path": "rules",
                        "propertyChangeType": "Array",
                        "before": ["a"],
                        "after": ["a", "b"],
                        "children": [{"path": "1", "propertyChangeType": "Create", "after": "b"}],
                    }
                ],
            }
        ],
        id="array-inside-array-element",
    ),
    pytest.param(
        ["a", "b"],
        ["b", "a"],
        [
            {"path": "0", "propertyChangeType": "Delete", "before": "a"},
            {"path": "1", "propertyChangeType": "Create", "after": "a"},
        ],
        id="reordered",
    ),
    pytest.param(
        [{"n": 1}, "x"],
        ["x", "y"],
        [
            {"path": "0", "propertyChangeType": "Delete", "before": {"n": 1}},
            {"path": "1", "propertyChangeType": "Create", "after": "y"},
        ],
        id="object-replaced-by-primitive",
    ),
]


@pytest.mark.parametrize(("before", "after", "children"), ARRAY_CASES)
def test_diff_arrays(before: list[Any], after: list[Any], children: list[Any]) -> None:
    assert diff({"properties": {"list": before}}, {"properties": {"list": after}}) == [
        {
            "path": "properties.list",
            "propertyChangeType": "Array",
            "before": before,
            "after": after,
            "children": children,
        }
    ]


def test_diff_whole_array_created_and_deleted() -> None:
    assert diff({"properties": {"old": [1]}}, {"properties": {"new": [2]}}) == [
        {"path": "properties.new", "propertyChangeType": "Create", "after": [2]},
        {"path": "properties.old", "propertyChangeType": "Delete", "before": [1]},
    ]


def test_unset_read_only_property_is_no_effect_with_its_current_value() -> None:
    before = {
        "properties": {"primaryEndpoints": {"blob": "https://sa1/"}, "minimumTlsVersion": "1"}
    }
    after = {"properties": {"minimumTlsVersion": "1"}}
    assert diff(before, after, read_only={"properties.primaryEndpoints"}) == [
        {
            "path": "properties.primaryEndpoints",
            "propertyChangeType": "NoEffect",
            "before": {"blob": "https://sa1/"},
            "after": {"blob": "https://sa1/"},
        }
    ]


def test_read_only_property_the_template_sets_is_no_effect() -> None:
    before = {"sku": {"name": "Standard", "tier": "Standard"}}
    after = {"sku": {"name": "Standard", "tier": "Premium"}}
    assert diff(before, after, read_only={"SKU.Tier"}) == [
        {
            "path": "sku.tier",
            "propertyChangeType": "NoEffect",
            "before": "Standard",
            "after": "Premium",
        }
    ]
    assert diff({"sku": {}}, after, read_only={"sku.tier"}) == [
        {"path": "sku.name", "propertyChangeType": "Create", "after": "Standard"},
        {"path": "sku.tier", "propertyChangeType": "NoEffect", "after": "Premium"},
    ]


def test_object_with_read_only_parts_splits_into_no_effect_and_delete() -> None:
    before = {
        "properties": {"encryption": {"keySource": "Microsoft.Storage", "services": {"b": 1}}}
    }
    assert diff(before, {"properties": {}}, read_only={"properties.encryption.services"}) == [
        {
            "path": "properties.encryption.keySource",
            "propertyChangeType": "Delete",
            "before": "Microsoft.Storage",
        },
        {
            "path": "properties.encryption.services",
            "propertyChangeType": "NoEffect",
            "before": {"b": 1},
            "after": {"b": 1},
        },
    ]


def test_provisioning_state_is_always_read_only() -> None:
    assert diff({"properties": {"provisioningState": "Succeeded"}}, {"properties": {}}) == [
        {
            "path": "properties.provisioningState",
            "propertyChangeType": "NoEffect",
            "before": "Succeeded",
            "after": "Succeeded",
        }
    ]


@pytest.mark.parametrize(
    "pattern",
    ["properties.subnets[*].etag", "properties.*[*].etag", "PROPERTIES.Subnets[*].ETAG"],
)
def test_read_only_inside_array_elements_does_not_make_them_differ(pattern: str) -> None:
    before = {"properties": {"subnets": [{"name": "a", "etag": "1"}, {"name": "b", "etag": "2"}]}}
    after = {"properties": {"subnets": [{"name": "a"}, {"name": "b"}]}}
    assert diff(before, after, read_only={pattern}) == []


def test_read_only_pattern_with_a_concrete_index_covers_that_element_only() -> None:
    before = {"properties": {"subnets": [{"name": "a", "etag": "1"}, {"name": "b", "etag": "2"}]}}
    after = {"properties": {"subnets": [{"name": "a"}, {"name": "b"}]}}
    [array] = diff(before, after, read_only={"properties.subnets[0].etag"})
    assert array["children"] == [
        {
            "path": "1",
            "propertyChangeType": "Modify",
            "before": {"name": "b", "etag": "2"},
            "after": {"name": "b"},
            "children": [{"path": "etag", "propertyChangeType": "Delete", "before": "2"}],
        }
    ]


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("properties.primaryEndpoints", "properties.primaryEndpoints", True),
        ("properties.primaryEndpoints", "properties.primaryEndpoints.blob", True),
        ("properties.primaryEndpoints", "properties.primaryEndpointsX", False),
        ("properties.primaryEndpoints", "properties", False),
        ("Properties.PrimaryEndpoints", "properties.primaryendpoints", True),
        ("properties.*[*].id", "properties.subnets[3].id", True),
        ("properties.*[*].id", "properties.subnets.id", False),
        ("properties.subnets[1].id", "properties.subnets[0].id", False),
        ("identity.userAssignedIdentities.*.principalId",
         "identity.userAssignedIdentities./subscriptions/s/x.y/id.principalId", True),
        ("identity.userAssignedIdentities.*.principalId",
         "identity.userAssignedIdentities.a.clientId", False),
    ],
    ids=["exact", "subtree", "longer-name", "parent", "case", "any-key-any-index",
         "index-required", "other-index", "key-with-dots", "other-leaf"],
)  # fmt: skip
def test_read_only_matcher(pattern: str, path: str, expected: bool) -> None:
    assert read_only_matcher([pattern])(path) is expected


def test_modified_element_shows_its_read_only_parts_unless_noise_is_suppressed() -> None:
    before = {"properties": {"subnets": [{"name": "a", "prefix": "1", "etag": "e"}]}}
    after = {"properties": {"subnets": [{"name": "a", "prefix": "2"}]}}
    element = {
        "path": "0",
        "propertyChangeType": "Modify",
        "before": before["properties"]["subnets"][0],
        "after": after["properties"]["subnets"][0],
    }
    prefix = {"path": "prefix", "propertyChangeType": "Modify", "before": "1", "after": "2"}
    etag = {"path": "etag", "propertyChangeType": "NoEffect", "before": "e", "after": "e"}
    array = {
        "path": "properties.subnets",
        "propertyChangeType": "Array",
        "before": before["properties"]["subnets"],
        "after": after["properties"]["subnets"],
    }
    read_only = {"properties.subnets[*].etag"}
    assert diff(before, after, read_only=read_only) == [
        {**array, "children": [{**element, "children": [prefix, etag]}]}
    ]
    assert diff(before, after, read_only=read_only, suppress_noise=True) == [
        {**array, "children": [{**element, "children": [prefix]}]}
    ]


def test_diff_does_not_change_its_inputs() -> None:
    before = {"properties": {"a": [{"b": 1}], "ro": {"x": 1}}, "tags": {"t": "1"}}
    after = {"properties": {"a": [{"b": 2}, {"c": 3}]}, "tags": None}
    saved = copy.deepcopy((before, after))
    diff(before, after, read_only={"properties.ro"})
    assert (before, after) == saved


# --- what_if: resource changes ---------------------------------------------------------------


def test_create_when_the_resource_does_not_exist() -> None:
    result = what_if(expansion_of(storage(minimumTlsVersion="TLS1_2")), State())
    assert result == {
        "status": "Succeeded",
        "properties": {
            "changes": [
                {
                    "resourceId": SA_ID,
                    "changeType": "Create",
                    "after": {
                        "id": SA_ID,
                        "name": "sa1",
                        "type": "Microsoft.Storage/storageAccounts",
                        "apiVersion": "2023-01-01",
                        "location": "westeurope",
                        "sku": {"name": "Standard_LRS"},
                        "properties": {"minimumTlsVersion": "TLS1_2"},
                    },
                }
            ]
        },
    }


def test_modify_reports_before_predicted_after_and_delta() -> None:
    current = current_storage(
        minimumTlsVersion="TLS1_0",
        provisioningState="Succeeded",
        primaryEndpoints={"blob": "https://sa1.blob/"},
        allowBlobPublicAccess=True,
    )
    current["location"] = "West Europe"
    result = what_if(
        expansion_of(storage(minimumTlsVersion="TLS1_2")),
        State(current),
        read_only_paths=lambda rtype: ["properties.primaryEndpoints"],
    )
    assert changes(result) == [
        {
            "resourceId": SA_ID,
            "changeType": "Modify",
            "before": current,
            "after": {
                "id": SA_ID,
                "name": "sa1",
                "type": "Microsoft.Storage/storageAccounts",
                "apiVersion": "2023-01-01",
                "location": "westeurope",
                "sku": {"name": "Standard_LRS"},
                "properties": {
                    "minimumTlsVersion": "TLS1_2",
                    "provisioningState": "Succeeded",
                    "primaryEndpoints": {"blob": "https://sa1.blob/"},
                },
            },
            "delta": [
                {
                    "path": "properties.minimumTlsVersion",
                    "propertyChangeType": "Modify",
                    "before": "TLS1_0",
                    "after": "TLS1_2",
                },
                {
                    "path": "properties.provisioningState",
                    "propertyChangeType": "NoEffect",
                    "before": "Succeeded",
                    "after": "Succeeded",
                },
                {
                    "path": "properties.primaryEndpoints",
                    "propertyChangeType": "NoEffect",
                    "before": {"blob": "https://sa1.blob/"},
                    "after": {"blob": "https://sa1.blob/"},
                },
                {
                    "path": "properties.allowBlobPublicAccess",
                    "propertyChangeType": "Delete",
                    "before": True,
                },
            ],
        }
    ]


def test_no_change_when_equal() -> None:
    current = current_storage(minimumTlsVersion="TLS1_2")
    [change] = changes(what_if(expansion_of(storage(minimumTlsVersion="TLS1_2")), State(current)))
    assert change["changeType"] == "NoChange"
    assert "delta" not in change
    assert change["before"] == current
    assert change["after"]["properties"] == {"minimumTlsVersion": "TLS1_2"}


@pytest.mark.parametrize(
    ("suppress", "expected_delta"),
    [
        pytest.param(
            False,
            [
                {
                    "path": "properties.primaryEndpoints",
                    "propertyChangeType": "NoEffect",
                    "before": {"blob": "b"},
                    "after": {"blob": "b"},
                }
            ],
            id="noise-shown",
        ),
        pytest.param(True, None, id="noise-suppressed"),
    ],
)
def test_only_no_effect_differences_are_no_change(
    suppress: bool, expected_delta: list[dict[str, Any]] | None
) -> None:
    current = current_storage(minimumTlsVersion="TLS1_2", primaryEndpoints={"blob": "b"})
    [change] = changes(
        what_if(
            expansion_of(storage(minimumTlsVersion="TLS1_2")),
            State(current),
            read_only_paths=lambda rtype: {"properties.primaryEndpoints"},
            suppress_noise=suppress,
        )
    )
    assert change["changeType"] == "NoChange"
    assert change.get("delta") == expected_delta
    assert change["after"]["properties"]["primaryEndpoints"] == {"blob": "b"}


def test_suppressing_noise_keeps_real_changes() -> None:
    current = current_storage(minimumTlsVersion="TLS1_0", primaryEndpoints={"blob": "b"})
    [change] = changes(
        what_if(
            expansion_of(storage(minimumTlsVersion="TLS1_2")),
            State(current),
            read_only_paths=lambda rtype: {"properties.primaryEndpoints"},
            suppress_noise=True,
        )
    )
    assert change["changeType"] == "Modify"
    assert [d["path"] for d in change["delta"]] == ["properties.minimumTlsVersion"]


def test_predicted_after_keeps_read_only_values_inside_arrays() -> None:
    vnet = {
        "type": "Microsoft.Network/virtualNetworks",
        "apiVersion": "2023-04-01",
        "name": "vnet",
        "location": "westeurope",
        "properties": {
            "subnets": [
                {"name": "x", "prefix": "0"},
                {"name": "a", "prefix": "1"},
                {"name": "c", "prefix": "3"},
                {"name": "d", "prefix": "4"},
            ]
        },
    }
    current = {
        "id": rid("Microsoft.Network/virtualNetworks", "vnet"),
        "location": "westeurope",
        "properties": {
            "subnets": [
                {"name": "a", "prefix": "1", "etag": "e1"},
                {"name": "b", "prefix": "2", "etag": "e2"},
                {"name": "d", "prefix": "4", "etag": "e4"},
            ]
        },
    }
    [change] = changes(
        what_if(
            expansion_of(vnet),
            State(current),
            read_only_paths=lambda rtype: ["properties.subnets[*].etag"],
        )
    )
    assert change["after"]["properties"]["subnets"] == [
        {"name": "x", "prefix": "0"},
        {"name": "a", "prefix": "1", "etag": "e1"},
        {"name": "c", "prefix": "3", "etag": "e2"},
        {"name": "d", "prefix": "4", "etag": "e4"},
    ]
    [array] = change["delta"]
    assert [(c["path"], c["propertyChangeType"]) for c in array["children"]] == [
        ("0", "Create"),
        ("2", "Modify"),
    ]


def test_read_only_paths_are_asked_per_resource_type() -> None:
    asked: list[str] = []

    def read_only(rtype: str) -> set[str]:
        asked.append(rtype)
        return {"properties.ipAddress"} if rtype == "Microsoft.Network/publicIPAddresses" else set()

    ip_current = {"id": IP_ID, "location": "westeurope", "properties": {"ipAddress": "1.2.3.4"}}
    sa_current = current_storage(ipAddress="1.2.3.4")
    result = what_if(
        expansion_of(public_ip(), storage(), public_ip("ip2")),
        State(ip_current, sa_current),
        read_only_paths=read_only,
    )
    assert sorted(asked) == [
        "Microsoft.Network/publicIPAddresses",
        "Microsoft.Storage/storageAccounts",
    ]
    assert kinds(result) == [
        (IP_ID, "NoChange"),
        (rid("Microsoft.Network/publicIPAddresses", "ip2"), "Create"),
        (SA_ID, "Modify"),
    ]


def test_deferred_property_is_compared_as_its_expression_text() -> None:
    expression = (
        "[reference(resourceId('Microsoft.Storage/storageAccounts', 'sa1')).primaryEndpoints.blob]"
    )
    app = {
        "type": "Microsoft.Web/sites",
        "apiVersion": "2023-01-01",
        "name": "app",
        "location": "westeurope",
        "dependsOn": ["sa1"],
        "properties": {"blob": expression, "httpsOnly": True},
    }
    expansion = expansion_of(storage(), app)
    assert [r.deferred for r in expansion.resources] == [False, True]
    current_app = {
        "id": APP_ID,
        "location": "westeurope",
        "properties": {"blob": "https://sa1.blob/", "httpsOnly": True},
    }
    result = what_if(expansion, State(current_storage(), current_app))
    assert [c["changeType"] for c in changes(result)] == ["NoChange", "Modify"]
    assert changes(result)[1]["delta"] == [
        {
            "path": "properties.blob",
            "propertyChangeType": "Modify",
            "before": "https://sa1.blob/",
            "after": expression,
        }
    ]
    created = changes(what_if(expansion, State()))[1]
    assert created["changeType"] == "Create"
    assert created["after"]["properties"]["blob"] == expression


# --- nested deployments, scopes and modes ----------------------------------------------------


def test_nested_deployment_contributes_its_resources_not_itself() -> None:
    inner = nested("inner", public_ip("ip-inner"), nested("deeper", public_ip("ip-deep")))
    result = what_if(expansion_of(storage(), inner), State())
    assert kinds(result) == [
        (rid("Microsoft.Network/publicIPAddresses", "ip-deep"), "Create"),
        (rid("Microsoft.Network/publicIPAddresses", "ip-inner"), "Create"),
        (SA_ID, "Create"),
    ]


def test_nested_deployment_into_another_group_uses_that_group() -> None:
    inner = nested("inner", public_ip("ip-other"), resourceGroup="other")
    other_ip = rid("Microsoft.Network/publicIPAddresses", "ip-other", group=OTHER_RG_ID)
    current = {"id": other_ip, "location": "westeurope", "properties": {}}
    result = what_if(expansion_of(inner), State(current))
    assert kinds(result) == [(other_ip, "NoChange")]


def test_nested_deployment_that_cannot_be_expanded_is_unsupported() -> None:
    linked = {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": "2022-09-01",
        "name": "linked",
        "properties": {
            "mode": "Incremental",
            "templateLink": {"uri": "https://example.com/t.json"},
        },
    }
    result = what_if(expansion_of(linked, storage()), State())
    assert changes(result)[0] == {
        "resourceId": rid("Microsoft.Resources/deployments", "linked"),
        "changeType": "Unsupported",
        "unsupportedReason": "The changes of nested deployment 'linked' cannot be predicted: "
        "its template is linked (templateLink), which only the local ARM service fetches.",
    }
    assert changes(result)[1]["resourceId"] == SA_ID


def _group_resources() -> list[dict[str, Any]]:
    return [
        current_storage(),
        {"id": rid("Microsoft.Network/publicIPAddresses", "stray"), "location": "westeurope"},
        {"id": rid("Microsoft.Network/virtualNetworks", "vnet"), "location": "westeurope"},
        {"id": rid("Microsoft.Network/virtualNetworks/subnets", "vnet", "s1")},
        {"id": rid("Microsoft.Network/publicIPAddresses", "elsewhere", group=OTHER_RG_ID)},
        {"id": f"{SA_ID}/providers/Microsoft.Authorization/locks/lock"},
    ]


@pytest.mark.parametrize(
    ("mode", "untouched"),
    [
        pytest.param("Incremental", "Ignore", id="incremental"),
        pytest.param("Complete", "Delete", id="complete"),
    ],
)
def test_resources_the_template_does_not_deploy(mode: str, untouched: str) -> None:
    existing_vnet = {
        "type": "Microsoft.Network/virtualNetworks",
        "apiVersion": "2023-04-01",
        "name": "vnet",
        "existing": True,
    }
    skipped = {**public_ip("never"), "condition": False}
    group = _group_resources()
    group.append({"id": rid("Microsoft.Network/publicIPAddresses", "never")})
    result = what_if(
        expansion_of(storage(), existing_vnet, skipped, mode=mode),
        State(*group),
        existing_in_scope=group,
    )
    assert kinds(result) == [
        (rid("Microsoft.Network/publicIPAddresses", "never"), untouched),
        (rid("Microsoft.Network/publicIPAddresses", "stray"), untouched),
        (rid("Microsoft.Network/virtualNetworks", "vnet"), "Ignore"),  # referenced: never deleted
        (SA_ID, "NoChange"),
    ]
    stray = changes(result)[1]
    assert stray["before"] == {"id": stray["resourceId"], "location": "westeurope"}


def test_mode_argument_overrides_the_context_mode() -> None:
    group = _group_resources()
    expansion = expansion_of(storage(), mode="Complete")
    stray = rid("Microsoft.Network/publicIPAddresses", "stray")
    assert (stray, "Delete") in kinds(what_if(expansion, State(*group), existing_in_scope=group))
    overridden = what_if(expansion, State(*group), existing_in_scope=group, mode="incremental")
    assert (stray, "Ignore") in kinds(overridden)


def test_complete_mode_nested_deployment_deletes_in_its_own_group() -> None:
    inner = nested("inner", public_ip("kept"), resourceGroup="other", mode="Complete")
    kept = rid("Microsoft.Network/publicIPAddresses", "kept", group=OTHER_RG_ID)
    gone = rid("Microsoft.Network/publicIPAddresses", "gone", group=OTHER_RG_ID)
    top = rid("Microsoft.Network/publicIPAddresses", "top")
    group = [{"id": kept, "location": "westeurope"}, {"id": gone}, {"id": top}]
    result = what_if(expansion_of(inner), State(*group), existing_in_scope=group)
    assert kinds(result) == [
        (gone, "Delete"),
        (kept, "NoChange"),
        (top, "Ignore"),
    ]


def test_resource_id_only_format() -> None:
    linked = {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": "2022-09-01",
        "name": "linked",
        "properties": {
            "mode": "Incremental",
            "templateLink": {"uri": "https://example.com/t.json"},
        },
    }
    group = _group_resources()
    result = what_if(
        expansion_of(storage(minimumTlsVersion="TLS1_2"), public_ip(), linked, mode="Complete"),
        State(*group),
        existing_in_scope=group,
        result_format="ResourceIdOnly",
    )
    assert changes(result) == [
        {"resourceId": IP_ID, "changeType": "Create"},
        {"resourceId": rid("Microsoft.Network/publicIPAddresses", "stray"), "changeType": "Delete"},
        {"resourceId": rid("Microsoft.Network/virtualNetworks", "vnet"), "changeType": "Delete"},
        {
            "resourceId": rid("Microsoft.Resources/deployments", "linked"),
            "changeType": "Unsupported",
            "unsupportedReason": "The changes of nested deployment 'linked' cannot be predicted: "
            "its template is linked (templateLink), which only the local ARM service fetches.",
        },
        {"resourceId": SA_ID, "changeType": "Deploy"},
    ]


def test_changes_are_sorted_by_resource_id_ignoring_case() -> None:
    names = ["b", "C", "a"]
    result = what_if(expansion_of(*(public_ip(n) for n in names)), State())
    assert [c["resourceId"].rsplit("/", 1)[1] for c in changes(result)] == ["a", "b", "C"]


def test_current_may_be_a_plain_callable() -> None:
    seen: list[str] = []

    def lookup(resource_id: str) -> dict[str, Any] | None:
        seen.append(resource_id)
        return None

    assert kinds(what_if(expansion_of(storage()), lookup)) == [(SA_ID, "Create")]
    assert seen == [SA_ID]


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        pytest.param(
            {"mode": "Partial"},
            ValueError,
            "The what-if mode 'Partial' is not valid: expected one of Incremental, Complete.",
            id="mode",
        ),
        pytest.param(
            {"result_format": "Everything"},
            ValueError,
            "The what-if resultFormat 'Everything' is not valid: expected one of "
            "FullResourcePayloads, ResourceIdOnly.",
            id="result-format",
        ),
        pytest.param(
            {"current": 42},
            TypeError,
            "what_if: 'current' must be a callable or have get_resource(resource_id).",
            id="current",
        ),
    ],
)
def test_invalid_arguments(arguments: dict[str, Any], error: type[Exception], message: str) -> None:
    current = arguments.pop("current", State())
    with pytest.raises(error) as raised:
        what_if(expansion_of(storage()), current, **arguments)
    assert str(raised.value) == message


# --- the shared corpus -----------------------------------------------------------------------


def corpus_cases() -> list[Any]:
    if not CORPUS.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no ARM corpus at {CORPUS}"))]
    paths = sorted(CORPUS.glob("**/main.json"))
    return [pytest.param(p, id=str(p.parent.relative_to(CORPUS))) for p in paths]


@pytest.mark.parametrize("path", corpus_cases())
def test_corpus_what_if_against_empty_and_deployed_state(path: Path) -> None:
    template_json = json.loads(path.read_text(encoding="utf-8"))
    context = DeploymentContext(deployment_name="corpus")
    expansion = expand(template_json, sample_parameters(template_json), context)
    deployable = [r for r in expansion.all_resources() if not r.is_deployment]

    fresh = changes(what_if(expansion, State()))
    assert {c["changeType"] for c in fresh} <= {"Create", "Unsupported"}
    created = {c["resourceId"].lower() for c in fresh if c["changeType"] == "Create"}
    assert created == {r.id.lower() for r in deployable}

    state = State(*(r.to_arm() for r in deployable))
    redeployed = changes(what_if(expansion, state, existing_in_scope=state.listed()))
    unsupported = [c for c in fresh if c["changeType"] == "Unsupported"]
    assert [c for c in redeployed if c["changeType"] == "Unsupported"] == unsupported
    others = [c for c in redeployed if c["changeType"] != "Unsupported"]
    assert {c["changeType"] for c in others} <= {"NoChange"}
    assert len(others) == len(deployable)
    assert all("delta" not in c for c in others)
