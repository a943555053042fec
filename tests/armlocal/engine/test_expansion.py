"""Template expansion: identities, copy loops, conditions, children, scopes, dependencies,
order, outputs — each asserted exactly on small templates written for the purpose."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bicep_assets.armlocal.engine import DeploymentContext, ResourceGroup, TemplateError, expand

from .conftest import RG_ID, SUB, DictState, rid, template

SA = "Microsoft.Storage/storageAccounts"


def storage(name: str, **extra: object) -> dict:
    return {"type": SA, "apiVersion": "2023-01-01", "name": name, **extra}


def test_parameters_variables_and_resource_group_functions() -> None:
    t = template(
        [
            storage(
                "[variables('name')]",
                location="[resourceGroup().location]",
                tags="[parameters('tags')]",
                sku={"name": "Standard_LRS"},
            )
        ],
        parameters={
            "prefix": {"type": "string", "defaultValue": "demo"},
            "tags": {"type": "object", "defaultValue": {"env": "[parameters('prefix')]"}},
        },
        variables={"name": "[format('{0}sa', parameters('prefix'))]"},
    )
    context = DeploymentContext(resource_group=ResourceGroup("rg", "northeurope"))
    (resource,) = expand(t, {"prefix": {"value": "web"}}, context).resources
    assert resource.id == rid(SA, "websa")
    assert resource.name == "websa"
    assert resource.body == {
        "location": "northeurope",
        "tags": {"env": "web"},
        "sku": {"name": "Standard_LRS"},
    }
    assert resource.depends_on == []


def test_copy_loop_makes_instances_with_copy_index_and_offset() -> None:
    t = template(
        [
            storage(
                "[concat('sa', copyIndex(1))]",
                copy={"name": "loop", "count": 3},
                properties={"index": "[copyIndex()]", "named": "[copyIndex('loop', 10)]"},
            ),
        ]
    )
    resources = expand(t).resources
    assert [r.name for r in resources] == ["sa1", "sa2", "sa3"]
    assert [r.properties for r in resources] == [
        {"index": 0, "named": 10},
        {"index": 1, "named": 11},
        {"index": 2, "named": 12},
    ]
    assert [r.copy_index for r in resources] == [0, 1, 2]
    assert all(r.depends_on == [] for r in resources)


def test_serial_copy_with_batch_size_depends_on_previous_batch() -> None:
    t = template(
        [
            storage(
                "[concat('sa', copyIndex())]",
                copy={"name": "loop", "count": 5, "mode": "serial", "batchSize": 2},
            ),
        ]
    )
    deps = {r.name: [d.rsplit("/", 1)[-1] for d in r.depends_on] for r in expand(t).resources}
    assert deps == {
        "sa0": [],
        "sa1": [],
        "sa2": ["sa0", "sa1"],
        "sa3": ["sa0", "sa1"],
        "sa4": ["sa2", "sa3"],
    }


def test_property_copy_and_copy_variables() -> None:
    t = template(
        [
            {
                "type": "Microsoft.Compute/virtualMachines",
                "apiVersion": "2023-03-01",
                "name": "vm",
                "properties": {
                    "storageProfile": {
                        "copy": [
                            {
                                "name": "dataDisks",
                                "count": "[length(variables('sizes'))]",
                                "input": {
                                    "lun": "[copyIndex('dataDisks')]",
                                    "diskSizeGB": "[variables('sizes')[copyIndex('dataDisks')]]",
                                },
                            }
                        ]
                    }
                },
            }
        ],
        variables={
            "copy": [
                {"name": "sizes", "count": 2, "input": "[mul(64, add(copyIndex('sizes'), 1))]"}
            ]
        },
    )
    (vm,) = expand(t).resources
    assert vm.properties == {
        "storageProfile": {
            "dataDisks": [
                {"lun": 0, "diskSizeGB": 64},
                {"lun": 1, "diskSizeGB": 128},
            ]
        }
    }


def test_condition_false_skips_resource_and_dependencies_on_it() -> None:
    t = template(
        [
            storage("off", condition="[parameters('enabled')]"),
            storage("on", dependsOn=["[resourceId('Microsoft.Storage/storageAccounts', 'off')]"]),
        ],
        parameters={"enabled": {"type": "bool", "defaultValue": False}},
    )
    expansion = expand(t)
    assert [r.name for r in expansion.resources] == ["on"]
    assert expansion.resources[0].depends_on == []
    assert [r.name for r in expansion.skipped] == ["off"]


def test_nested_child_resources_get_full_type_name_and_parent_dependency() -> None:
    t = template(
        [
            {
                "type": "Microsoft.Network/virtualNetworks",
                "apiVersion": "2023-04-01",
                "name": "vnet",
                "resources": [
                    {
                        "type": "subnets",
                        "apiVersion": "2023-04-01",
                        "name": "default",
                        "properties": {"addressPrefix": "10.0.0.0/24"},
                    }
                ],
            },
        ]
    )
    vnet, subnet = expand(t).resources
    assert subnet.type == "Microsoft.Network/virtualNetworks/subnets"
    assert subnet.name == "vnet/default"
    assert subnet.id == rid("Microsoft.Network/virtualNetworks/subnets", "vnet", "default")
    assert subnet.depends_on == [vnet.id]


def test_extension_resources_with_relative_and_absolute_scope() -> None:
    lock = {"type": "Microsoft.Authorization/locks", "apiVersion": "2020-05-01"}
    t = template(
        {
            "sa": storage("sa"),
            "lockRelative": {
                **lock,
                "name": "l1",
                "scope": "[format('{0}/{1}', 'Microsoft.Storage/storageAccounts', 'sa')]",
                "dependsOn": ["sa"],
            },
            "lockAbsolute": {
                **lock,
                "name": "l2",
                "scope": "[resourceId('Microsoft.Storage/storageAccounts', 'sa')]",
            },
        },
        language="2.0",
    )
    resources = {r.symbolic_name: r for r in expand(t).resources}
    sa_id = rid(SA, "sa")
    assert resources["lockRelative"].id == f"{sa_id}/providers/Microsoft.Authorization/locks/l1"
    assert resources["lockRelative"].scope_id == sa_id
    assert resources["lockAbsolute"].id == f"{sa_id}/providers/Microsoft.Authorization/locks/l2"
    assert resources["lockRelative"].depends_on == [sa_id]


@pytest.mark.parametrize(
    "entry",
    [
        "a",
        "loop",
        "[resourceId('Microsoft.Storage/storageAccounts', 'a')]",
        "Microsoft.Storage/storageAccounts/a",
    ],
    ids=["by-name", "by-copy-loop", "by-resource-id", "by-type-and-name"],
)
def test_depends_on_forms(entry: str) -> None:
    first = storage("a", copy={"name": "loop", "count": 1}) if entry == "loop" else storage("a")
    t = template([storage("b", dependsOn=[entry]), first])
    b_resource, a_resource = sorted(expand(t).resources, key=lambda r: r.name, reverse=True)
    order = [r.name for r in expand(t).resources]
    assert order == ["a", "b"]
    assert b_resource.depends_on == [a_resource.id]


def test_depends_on_unknown_resource_is_an_error_naming_it() -> None:
    t = template([storage("b", dependsOn=["ghost"])])
    with pytest.raises(
        TemplateError, match=r"resources\[0\]\.dependsOn\[0\]: The resource 'ghost' is not defined"
    ):
        expand(t)


def test_symbolic_names_existing_resources_and_implicit_dependencies() -> None:
    t = template(
        {
            "vault": {
                "type": "Microsoft.KeyVault/vaults",
                "apiVersion": "2023-02-01",
                "name": "kv",
                "existing": True,
            },
            "sa": storage("sa", properties={"vaultUri": "[reference('vault').vaultUri]"}),
            "app": {
                "type": "Microsoft.Web/sites",
                "apiVersion": "2022-03-01",
                "name": "app",
                "properties": {"blob": "[reference('sa').primaryEndpoints.blob]"},
            },
        },
        language="2.0",
    )
    state = DictState(
        {
            rid("Microsoft.KeyVault/vaults", "kv"): {
                "properties": {"vaultUri": "https://kv.vault.azure.net/"}
            }
        }
    )
    expansion = expand(t, context=DeploymentContext(state=state))
    sa, app = expansion.resources
    assert [r.symbolic_name for r in expansion.existing] == ["vault"]
    assert sa.properties == {"vaultUri": "https://kv.vault.azure.net/"}
    assert sa.depends_on == []  # existing resources are not deployed, so not waited for
    assert app.depends_on == [sa.id]
    assert app.deferred is True
    assert app.properties == {"blob": "[reference('sa').primaryEndpoints.blob]"}


def test_evaluate_resource_after_dependencies_exist() -> None:
    t = template(
        {
            "sa": storage("sa"),
            "app": {
                "type": "Microsoft.Web/sites",
                "apiVersion": "2022-03-01",
                "name": "app",
                "properties": {
                    "blob": "[reference('sa').primaryEndpoints.blob]",
                    "key": "[listKeys('sa', '2023-01-01').keys[0].value]",
                },
            },
        },
        language="2.0",
    )
    expansion = expand(t)
    app = expansion.resources[1]
    deployed = DictState(
        {rid(SA, "sa"): {"properties": {"primaryEndpoints": {"blob": "https://sa.blob/"}}}}
    )
    evaluated = expansion.evaluate_resource(app, deployed)
    assert evaluated.deferred is False
    assert evaluated.properties == {"blob": "https://sa.blob/", "key": "secret-of-sa"}
    assert app.deferred is True  # the planned expansion is left as it was


def test_a_resource_reading_its_own_id_reads_the_current_state() -> None:
    """ARM adds no dependency for a reference by id: a tags resource may merge the tags its
    scope has now into its own (Bicep's ``existing`` tags and ``union()``)."""
    own = "[reference(resourceId('Microsoft.Resources/tags', 'default'), '2021-04-01').tags]"
    tags = {
        "type": "Microsoft.Resources/tags",
        "apiVersion": "2021-04-01",
        "name": "default",
        "properties": {"tags": f"[union({own[1:-1]}, createObject('b', '2'))]"},
    }
    state = DictState({rid("Microsoft.Resources/tags", "default"): {
        "properties": {"tags": {"a": "1"}}}})  # fmt: skip
    expansion = expand(template([tags]), context=DeploymentContext(state=state))
    assert expansion.resources[0].body["properties"] == {"tags": {"a": "1", "b": "2"}}
    # by name (not by id) it is still a reference to itself: a cycle
    by_name = {**tags, "properties": {"tags": "[reference('default').tags]"}}
    with pytest.raises(TemplateError, match="Circular dependency"):
        expand(template([by_name]), context=DeploymentContext(state=state))


def test_cycle_is_an_error_that_names_the_resources() -> None:
    t = template(
        [
            storage("a", dependsOn=["b"]),
            storage("b", dependsOn=["c"]),
            storage("c", dependsOn=["a"]),
        ]
    )
    with pytest.raises(TemplateError, match="Circular dependency") as info:
        expand(t)
    assert info.value.details[0].code == "TemplateResourceCircularDependency"
    message = info.value.message
    for name in ("a", "b", "c"):
        assert rid(SA, name) in message


def test_order_follows_dependencies_then_declaration() -> None:
    t = template(
        [storage("c", dependsOn=["b"]), storage("b", dependsOn=["a"]), storage("x"), storage("a")]
    )
    assert [r.name for r in expand(t).resources] == ["x", "a", "b", "c"]


def test_nested_inner_scope_deployment_and_outputs_available_to_parent() -> None:
    inner = template(
        [storage("[parameters('name')]", location="[parameters('location')]")],
        parameters={"name": {"type": "string"}, "location": {"type": "string"}},
        outputs={
            "id": {
                "type": "string",
                "value": "[resourceId('Microsoft.Storage/storageAccounts', parameters('name'))]",
            }
        },
    )
    t = template(
        {
            "mod": {
                "type": "Microsoft.Resources/deployments",
                "apiVersion": "2022-09-01",
                "name": "storage-module",
                "properties": {
                    "mode": "Incremental",
                    "expressionEvaluationOptions": {"scope": "inner"},
                    "parameters": {
                        "name": {"value": "[parameters('saName')]"},
                        "location": {"value": "westus"},
                    },
                    "template": inner,
                },
            },
            "lock": {
                "type": "Microsoft.Authorization/locks",
                "apiVersion": "2020-05-01",
                "name": "lock",
                "properties": {"notes": "[reference('mod').outputs.id.value]"},
            },
        },
        language="2.0",
        parameters={"saName": {"type": "string"}},
        outputs={"storageId": {"type": "string", "value": "[reference('mod').outputs.id.value]"}},
    )
    expansion = expand(t, {"saName": {"value": "inner1"}})
    mod, lock = expansion.resources
    assert mod.id == rid("Microsoft.Resources/deployments", "storage-module")
    assert mod.nested is not None
    (nested_sa,) = mod.nested.resources
    assert nested_sa.id == rid(SA, "inner1")
    assert nested_sa.body == {"location": "westus"}
    assert mod.nested.context.deployment_name == "storage-module"
    assert lock.properties == {"notes": rid(SA, "inner1")}
    assert lock.depends_on == [mod.id]
    assert expansion.evaluate_outputs() == {
        "storageId": {"type": "string", "value": rid(SA, "inner1")}
    }
    assert [r.id for r in expansion.all_resources()] == [mod.id, nested_sa.id, lock.id]


def test_nested_outer_scope_sees_parent_parameters() -> None:
    t = template(
        [
            {
                "type": "Microsoft.Resources/deployments",
                "apiVersion": "2022-09-01",
                "name": "outer",
                "properties": {
                    "mode": "Incremental",
                    "template": template([storage("[parameters('saName')]")]),
                },
            }
        ],
        parameters={"saName": {"type": "string", "defaultValue": "fromparent"}},
    )
    (deployment,) = expand(t).resources
    assert [r.name for r in deployment.nested.resources] == ["fromparent"]


def test_nested_deployment_waiting_for_another_resource_is_deferred_with_a_reason() -> None:
    t = template(
        {
            "sa": storage("sa"),
            "mod": {
                "type": "Microsoft.Resources/deployments",
                "apiVersion": "2022-09-01",
                "name": "m",
                "properties": {
                    "expressionEvaluationOptions": {"scope": "inner"},
                    "mode": "Incremental",
                    "parameters": {"blob": {"value": "[reference('sa').primaryEndpoints.blob]"}},
                    "template": template([], parameters={"blob": {"type": "string"}}),
                },
            },
        },
        language="2.0",
    )
    mod = expand(t).resources[1]
    assert mod.nested is None
    assert (
        mod.nested_deferred_reason
        == "its parameters depend on resources that this deployment creates"
    )
    assert mod.depends_on == [rid(SA, "sa")]


def test_nested_parameters_link_is_not_followed_offline() -> None:
    """``expand`` has no link loader: a nested deployment whose parameters are a file
    (``parametersLink``) is left unexpanded, saying why (the service fetches it)."""
    t = template(
        [
            {
                "type": "Microsoft.Resources/deployments",
                "apiVersion": "2022-09-01",
                "name": "m",
                "properties": {
                    "expressionEvaluationOptions": {"scope": "inner"},
                    "mode": "Incremental",
                    "parametersLink": {"uri": "https://example.com/m.parameters.json"},
                    "template": template([], parameters={"name": {"type": "string"}}),
                },
            }
        ]
    )
    [mod] = expand(t).resources
    assert mod.nested is None
    assert mod.nested_deferred_reason == (
        "its parameters are linked (parametersLink), which only the local ARM service fetches"
    )


def test_nested_deployment_into_another_resource_group() -> None:
    t = template(
        [
            {
                "type": "Microsoft.Resources/deployments",
                "apiVersion": "2022-09-01",
                "name": "other",
                "resourceGroup": "rg2",
                "properties": {
                    "mode": "Incremental",
                    "expressionEvaluationOptions": {"scope": "inner"},
                    "template": template([storage("[resourceGroup().name]")]),
                },
            }
        ]
    )
    (deployment,) = expand(t).resources
    rg2 = f"/subscriptions/{SUB}/resourceGroups/rg2"
    assert deployment.id == f"{rg2}/providers/Microsoft.Resources/deployments/other"
    assert deployment.nested.resources[0].id == (
        f"/subscriptions/{SUB}/resourceGroups/rg2/providers/Microsoft.Storage/storageAccounts/rg2"
    )


def test_outputs_with_copy_and_after_deployment_state() -> None:
    t = template(
        {"sa": storage("sa")},
        language="2.0",
        outputs={
            "names": {
                "type": "array",
                "copy": {"count": 2, "input": "[format('n{0}', copyIndex())]"},
            },
            "blob": {"type": "string", "value": "[reference('sa').primaryEndpoints.blob]"},
            "hidden": {"type": "string", "condition": "[equals(1, 2)]", "value": "x"},
        },
    )
    expansion = expand(t)
    assert expansion.evaluate_outputs() == {
        "names": {"type": "array", "value": ["n0", "n1"]},
        "blob": {"type": "string", "value": "[reference('sa').primaryEndpoints.blob]"},
    }
    deployed = DictState(
        {rid(SA, "sa"): {"properties": {"primaryEndpoints": {"blob": "https://sa/"}}}}
    )
    assert expansion.evaluate_outputs(deployed)["blob"] == {
        "type": "string",
        "value": "https://sa/",
    }


def test_user_defined_functions() -> None:
    t = template(
        {"sa": storage("[ns.name(parameters('p'), 3)]")},
        language="2.0",
        parameters={"p": {"type": "string", "defaultValue": "abc"}},
        functions=[
            {
                "namespace": "ns",
                "members": {
                    "name": {
                        "parameters": [
                            {"name": "prefix", "type": "string"},
                            {"name": "n", "type": "int"},
                        ],
                        "output": {
                            "type": "string",
                            "value": "[format('{0}{1}', parameters('prefix'), parameters('n'))]",
                        },
                    }
                },
            }
        ],
    )
    assert expand(t).resources[0].name == "abc3"


def test_utcnow_only_in_parameter_defaults() -> None:
    now = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    ok = template(
        [storage("sa", tags={"t": "[parameters('stamp')]"})],
        parameters={"stamp": {"type": "string", "defaultValue": "[utcNow('yyyy-MM-dd')]"}},
    )
    assert expand(ok, context=DeploymentContext(now=now)).resources[0].body == {
        "tags": {"t": "2026-03-04"}
    }
    bad = template([storage("sa", tags={"t": "[utcNow()]"})])
    with pytest.raises(TemplateError, match=r"resources\[0\]\.tags\.t: .*utcNow"):
        expand(bad)


def test_subscription_scope_resource_group_and_nested_deployment() -> None:
    t = {
        "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [
            {
                "type": "Microsoft.Resources/resourceGroups",
                "apiVersion": "2022-09-01",
                "name": "app-rg",
                "location": "[deployment().location]",
            },
            {
                "type": "Microsoft.Resources/deployments",
                "apiVersion": "2022-09-01",
                "name": "inner",
                "resourceGroup": "app-rg",
                "dependsOn": [
                    "[subscriptionResourceId('Microsoft.Resources/resourceGroups', 'app-rg')]"
                ],
                "properties": {
                    "mode": "Incremental",
                    "expressionEvaluationOptions": {"scope": "inner"},
                    "template": template([storage("sa")]),
                },
            },
        ],
    }
    context = DeploymentContext(resource_group=None, location="swedencentral")
    group, deployment = expand(t, context=context).resources
    assert group.id == f"/subscriptions/{SUB}/resourceGroups/app-rg"
    assert group.body == {"location": "swedencentral"}
    assert deployment.depends_on == [group.id]
    assert deployment.nested.resources[0].id == (
        f"/subscriptions/{SUB}/resourceGroups/app-rg/providers/Microsoft.Storage/storageAccounts/sa"
    )


def test_duplicate_resource_is_an_error() -> None:
    with pytest.raises(TemplateError, match="defined multiple times"):
        expand(template([storage("a"), storage("a")]))


def test_redacted_parameters_hide_secure_values() -> None:
    t = template([], parameters={"pw": {"type": "securestring"}, "n": {"type": "int"}})
    expansion = expand(t, {"pw": {"value": "hunter2"}, "n": {"value": 3}})
    assert expansion.parameters == {"pw": "hunter2", "n": 3}
    assert expansion.redacted_parameters() == {"pw": None, "n": 3}
    assert RG_ID in expansion.context.resource_group_id
