"""Engine rules taken from Microsoft's documentation, one test (or test id) per rule:

- "Define the order for deploying resources in ARM templates" (dependsOn): "When a
  conditional resource isn't deployed, Azure Resource Manager automatically removes it from
  the required dependencies" — so is a copy loop of count 0 ("Resource iteration": the count
  can be zero) and a loop whose members are all conditioned off;
- "Deploy to resource group with nested template" / nested templates: a nested deployment's
  ``resourceGroup`` (and ``subscriptionId``) default to the parent's — Bicep writes ``''`` for
  the current group;
- a nested deployment's ``properties.template`` is a property like any other: an expression
  there (``[variables('t')]``, ``[json(...)]``) is evaluated.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bicep_assets.armlocal.engine import DeploymentContext, ResourceGroup, TemplateError, expand

from .conftest import RG_ID, SUB, nested, rid, template

SA = "Microsoft.Storage/storageAccounts"
SUB_SCHEMA = (
    "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#"
)


def storage(name: str, **extra: Any) -> dict[str, Any]:
    return {"type": SA, "apiVersion": "2023-01-01", "name": name, **extra}


def loop(count: Any, condition: Any = True, name: str = "saLoop") -> dict[str, Any]:
    return storage(
        "[format('sa{0}', copyIndex())]",
        copy={"name": name, "count": count},
        condition=condition,
    )


# --- dependsOn on what is not deployed --------------------------------------------------------

V1_CASES: dict[str, tuple[list[dict[str, Any]], str]] = {
    "dependsOn-copy-loop-count-0": ([loop(0)], "saLoop"),
    "dependsOn-copy-loop-count-0-from-expression": (
        [loop("[length(createArray())]")],
        "saLoop",
    ),
    "dependsOn-copy-loop-all-members-conditioned-off": ([loop(2, False)], "saLoop"),
    "dependsOn-copy-loop-members-conditioned-off-by-index": (
        [loop(2, "[equals(copyIndex(), 5)]")],
        "saLoop",
    ),
    "dependsOn-condition-false-by-resourceId": (
        [storage("sa1", condition=False)],
        f"[resourceId('{SA}', 'sa1')]",
    ),
    "dependsOn-condition-false-by-name": ([storage("sa1", condition=False)], "sa1"),
    "dependsOn-condition-false-by-type-and-name": (
        [storage("sa1", condition=False)],
        f"{SA}/sa1",
    ),
    "dependsOn-condition-false-name-not-evaluated": (
        # ARM does not evaluate a false resource's name; here it could not be
        [storage("[parameters('missing').name]", condition=False)],
        f"[resourceId('{SA}', 'whatever')]",
    ),
}


@pytest.mark.parametrize(("declared", "entry"), V1_CASES.values(), ids=V1_CASES.keys())
def test_depends_on_what_is_not_deployed_is_nothing_to_wait_for_1_0(
    declared: list[dict[str, Any]], entry: str
) -> None:
    dependent = storage("other", dependsOn=[entry, "kept"])
    t = template([*declared, storage("kept"), dependent])
    resources = expand(t).resources
    assert [r.name for r in resources] == ["kept", "other"]
    assert resources[1].depends_on == [rid(SA, "kept")]


V2_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "dependsOn-symbolic-copy-loop-count-0": ({"stores": loop(0, name="stores")}, "stores"),
    "dependsOn-symbolic-copy-loop-all-members-conditioned-off": (
        {"stores": loop(3, False, name="stores")},
        "stores",
    ),
    "dependsOn-symbolic-member-of-empty-loop": ({"stores": loop(0, name="stores")}, "stores[0]"),
    "dependsOn-symbolic-member-conditioned-off": (
        {"stores": loop(2, "[equals(copyIndex(), 0)]", name="stores")},
        "stores[1]",
    ),
    "dependsOn-symbolic-condition-false": ({"one": storage("sa1", condition=False)}, "one"),
}


@pytest.mark.parametrize(("declared", "entry"), V2_CASES.values(), ids=V2_CASES.keys())
def test_depends_on_what_is_not_deployed_is_nothing_to_wait_for_2_0(
    declared: dict[str, Any], entry: str
) -> None:
    resources = {
        **declared,
        "kept": storage("kept"),
        "other": storage("other", dependsOn=[entry, "kept"]),
    }
    expanded = expand(template(resources, language="2.0")).resources
    names = [r.name for r in expanded]
    assert names[-2:] == ["kept", "other"]
    assert expanded[-1].depends_on == [rid(SA, "kept")]


def test_depends_on_a_loop_waits_only_for_its_deployed_members() -> None:
    t = template([loop(3, "[not(equals(copyIndex(), 1))]"), storage("other", dependsOn=["saLoop"])])
    resources = expand(t).resources
    assert [r.name for r in resources] == ["sa0", "sa2", "other"]
    assert resources[-1].depends_on == [rid(SA, "sa0"), rid(SA, "sa2")]


@pytest.mark.parametrize(
    ("resources", "entry", "where"),
    [
        ([storage("other", dependsOn=["nothing"])], "nothing", "resources[0]"),
        (
            {"stores": loop(0, name="stores"), "o": storage("o", dependsOn=["nostores"])},
            "nostores",
            "resources['o']",
        ),
        (
            {"one": storage("sa1"), "o": storage("o", dependsOn=["one[0]"])},
            "one[0]",
            "resources['o']",
        ),
    ],
    ids=["dependsOn-undeclared-name", "dependsOn-undeclared-symbol", "dependsOn-index-of-non-loop"],
)
def test_depends_on_a_name_nothing_declares_is_still_an_error(
    resources: Any, entry: str, where: str
) -> None:
    language = "2.0" if isinstance(resources, dict) else None
    with pytest.raises(TemplateError) as info:
        expand(template(resources, language=language))
    assert info.value.code == "InvalidTemplate"
    assert info.value.message == (
        f"{where}.dependsOn[0]: The resource '{entry}' is not defined in the template."
    )


# --- nested deployments: the current group and subscription ------------------------------------

INNER = template(
    [storage("innersa", location="[resourceGroup().location]")],
    outputs={
        "group": {"type": "string", "value": "[resourceGroup().name]"},
        "subscription": {"type": "string", "value": "[subscription().subscriptionId]"},
    },
)


OTHER_SUB = "11111111-1111-1111-1111-111111111111"


@pytest.mark.parametrize(
    ("where", "group_id"),
    [
        ({"resourceGroup": ""}, RG_ID),
        ({"subscriptionId": "", "resourceGroup": ""}, RG_ID),
        ({"subscriptionId": ""}, RG_ID),
        (
            {"subscriptionId": "", "resourceGroup": "other"},
            f"/subscriptions/{SUB}/resourceGroups/other",
        ),
        ({"resourceGroup": "[string('')]"}, RG_ID),
        (
            {"subscriptionId": OTHER_SUB, "resourceGroup": ""},
            f"/subscriptions/{OTHER_SUB}/resourceGroups/rg",
        ),
    ],
    ids=[
        "nested-resourceGroup-empty-is-current-group",
        "nested-subscriptionId-and-resourceGroup-empty-are-current",
        "nested-subscriptionId-empty-is-current-subscription",
        "nested-subscriptionId-empty-with-a-named-group",
        "nested-resourceGroup-expression-evaluating-to-empty",
        "nested-resourceGroup-empty-in-another-subscription",
    ],
)
def test_nested_deployment_empty_scope_means_the_current_one(
    where: dict[str, Any], group_id: str
) -> None:
    (deployment,) = expand(template([nested("inner", INNER, **where)])).resources
    assert deployment.id == f"{group_id}/providers/Microsoft.Resources/deployments/inner"
    assert deployment.nested is not None
    (inner,) = deployment.nested.resources
    assert inner.id == f"{group_id}/providers/{SA}/innersa"
    outputs = deployment.nested.evaluate_outputs()
    assert outputs["group"]["value"] == group_id.rsplit("/", 1)[-1]
    assert outputs["subscription"]["value"] == group_id.split("/")[2]


def test_nested_deployment_resource_group_empty_at_subscription_scope_deploys_to_it() -> None:
    inner = {
        "$schema": SUB_SCHEMA,
        "contentVersion": "1.0.0.0",
        "resources": [],
        "outputs": {"id": {"type": "string", "value": "[subscription().id]"}},
    }
    outer = {
        "$schema": SUB_SCHEMA,
        "contentVersion": "1.0.0.0",
        "resources": [nested("inner", inner, resourceGroup="", location="westeurope")],
    }
    context = DeploymentContext(resource_group=None, location="westeurope")
    (deployment,) = expand(outer, {}, context).resources
    assert deployment.id == f"/subscriptions/{SUB}/providers/Microsoft.Resources/deployments/inner"
    assert deployment.nested is not None
    assert deployment.nested.context.resource_group is None
    assert deployment.nested.evaluate_outputs()["id"]["value"] == f"/subscriptions/{SUB}"


# --- nested deployments: the template given as an expression -----------------------------------


@pytest.mark.parametrize(
    ("template_value", "sections"),
    [
        ("[variables('inner')]", {"variables": {"inner": INNER}}),
        (
            "[json(parameters('text'))]",
            {"parameters": {"text": {"type": "string", "defaultValue": json.dumps(INNER)}}},
        ),
        (
            "[if(parameters('big'), variables('inner'), variables('small'))]",
            {
                "parameters": {"big": {"type": "bool", "defaultValue": True}},
                "variables": {"inner": INNER, "small": template([])},
            },
        ),
    ],
    ids=[
        "nested-template-from-variables",
        "nested-template-from-json",
        "nested-template-from-if",
    ],
)
def test_nested_template_given_as_an_expression_is_evaluated(
    template_value: str, sections: dict[str, Any]
) -> None:
    context = DeploymentContext(resource_group=ResourceGroup("rg", "northeurope"))
    outer = template([nested("inner", template_value)], **sections)
    (deployment,) = expand(outer, {}, context).resources
    assert deployment.nested is not None, deployment.nested_deferred_reason
    (inner,) = deployment.nested.resources
    assert (inner.id, inner.location) == (rid(SA, "innersa"), "northeurope")
    assert deployment.body["properties"]["template"]["resources"][0]["name"] == "innersa"


def test_nested_template_expression_keeps_its_own_expressions_for_its_parameters() -> None:
    # the parent evaluates the expression (a variable written with '[[' escapes, as Bicep
    # writes a loadJsonContent template); what remains is the nested deployment's own and
    # reads the parameters it is given, even when the options say 'Outer'
    inner = template(
        [storage("[[parameters('name')]", location="[[resourceGroup().location]")],
        parameters={"name": {"type": "string"}},
        outputs={"id": {"type": "string", "value": f"[[resourceId('{SA}', parameters('name'))]"}},
    )
    deployment = nested("inner", "[variables('inner')]")
    deployment["properties"]["expressionEvaluationOptions"] = {"scope": "Outer"}
    deployment["properties"]["parameters"] = {"name": {"value": "[parameters('given')]"}}
    outer = template(
        [deployment],
        parameters={"given": {"type": "string", "defaultValue": "fromparent"}},
        variables={"inner": inner},
    )
    (resource,) = expand(outer).resources
    assert resource.nested is not None
    (created,) = resource.nested.resources
    assert (created.id, created.location) == (rid(SA, "fromparent"), "westeurope")
    assert resource.nested.evaluate_outputs()["id"]["value"] == rid(SA, "fromparent")


@pytest.mark.parametrize(
    ("template_value", "kind"),
    [("[string('x')]", "a string"), ("[createArray(1)]", "an array"), ("[null()]", "null")],
    ids=["nested-template-expression-string", "nested-template-expression-array", "null"],
)
def test_nested_template_expression_must_give_an_object(template_value: str, kind: str) -> None:
    with pytest.raises(TemplateError) as info:
        expand(template([nested("inner", template_value)]))
    assert info.value.code == "InvalidTemplate"
    assert info.value.message.endswith(
        "resources[0].properties.template: The template of a nested deployment must be an "
        f"object, not {kind}."
    )
