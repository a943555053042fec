"""Reading ARM's WhatIfOperationResult into a plan: what is noise, what is a change."""

from __future__ import annotations

from typing import Any

from bicep_assets.pipeline.plan import plan_from_what_if

VNET = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
    "Microsoft.Network/virtualNetworks/vnet"
)


def what_if(*delta: dict[str, Any], change_type: str = "Modify") -> dict[str, Any]:
    return {
        "status": "Succeeded",
        "properties": {
            "changes": [
                {
                    "resourceId": VNET,
                    "changeType": change_type,
                    "before": {"type": "Microsoft.Network/virtualNetworks"},
                    "after": {"type": "Microsoft.Network/virtualNetworks"},
                    "delta": list(delta),
                }
            ]
        },
    }


def subnets(*element_children: dict[str, Any]) -> dict[str, Any]:
    """``properties.subnets`` changed inside its first element, as ARM reports it."""
    return {
        "path": "properties.subnets",
        "propertyChangeType": "Array",
        "children": [
            {"path": "0", "propertyChangeType": "Modify", "children": list(element_children)}
        ],
    }


def read_only(path: str) -> dict[str, Any]:
    return {"path": path, "propertyChangeType": "NoEffect", "before": "x", "after": None}


def test_an_array_element_whose_changes_are_all_read_only_is_no_change() -> None:
    plan = plan_from_what_if("dev", what_if(subnets(read_only("properties.provisioningState"))))
    (change,) = plan.changes
    assert change.change_type == "NoChange"
    assert change.delta == []


def test_an_array_element_whose_changes_are_all_ignored_is_no_change() -> None:
    delta = subnets(
        {
            "path": "properties.ipConfigurations",
            "propertyChangeType": "Modify",
            "before": [1],
            "after": [2],
        }
    )
    plan = plan_from_what_if(
        "dev", what_if(delta), ignore=["properties.subnets[*].properties.ipConfigurations"]
    )
    assert plan.changes[0].change_type == "NoChange"


def test_a_real_change_inside_an_array_element_stays_a_modify() -> None:
    delta = subnets(
        read_only("properties.provisioningState"),
        {
            "path": "properties.addressPrefix",
            "propertyChangeType": "Modify",
            "before": "10.0.0.0/24",
            "after": "10.0.1.0/24",
        },
    )
    (change,) = plan_from_what_if("dev", what_if(delta)).changes
    assert change.change_type == "Modify"
    (array,) = change.delta
    (element,) = array.children
    assert [(c.path, c.before, c.after) for c in element.children] == [
        ("properties.addressPrefix", "10.0.0.0/24", "10.0.1.0/24")
    ]


def test_a_leaf_modify_without_children_is_kept() -> None:
    delta = {"path": "tags.team", "propertyChangeType": "Modify", "before": "a", "after": "b"}
    (change,) = plan_from_what_if("dev", what_if(delta)).changes
    assert change.change_type == "Modify"
    assert [d.path for d in change.delta] == ["tags.team"]
