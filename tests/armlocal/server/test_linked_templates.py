"""Issue 16: linked templates (``templateLink.uri`` with ``queryString``, ``relativePath``,
``parametersLink``) fetched from a local HTTP server, and template specs stored, versioned and
deployed by id — through the official SDKs."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.mgmt.resource.templatespecs import TemplateSpecsClient

from bicep_assets.armlocal import LocalArm

from .conftest import deploy_body, storage, template

SUB = "00000000-0000-0000-0000-000000000000"
RG_ID = f"/subscriptions/{SUB}/resourceGroups/rg-test"


class Files:
    """A local web server with a few JSON files; it records the paths (and queries) asked."""

    def __init__(self) -> None:
        self.files: dict[str, Any] = {}
        self.asked: list[str] = []
        files = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                files.asked.append(self.path)
                body = files.files.get(self.path.split("?")[0])
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()


@pytest.fixture
def files() -> Iterator[Files]:
    served = Files()
    yield served
    served.server.shutdown()
    served.server.server_close()


def nested_link(name: str, **link: Any) -> dict[str, Any]:
    return {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": "2022-09-01",
        "name": name,
        "properties": {"mode": "Incremental", "templateLink": link},
    }


def test_linked_template_with_query_string_and_relative_path(
    arm: LocalArm, deployments: Any, files: Files, group: str
) -> None:
    files.files["/t/main.json"] = template(
        [storage("stmain01"), nested_link("child", relativePath="nested/child.json")],
        outputs={"link": {"type": "string", "value": "[deployment().properties.templateLink.uri]"}},
    )
    files.files["/t/nested/child.json"] = template([storage("stchild01")])
    files.files["/p/main.parameters.json"] = {"parameters": {}}
    body = {
        "properties": {
            "mode": "Incremental",
            "templateLink": {"uri": f"{files.base}/t/main.json", "queryString": "sv=1&sig=x"},
            "parametersLink": {"uri": f"{files.base}/p/main.parameters.json"},
        }
    }
    result = deployments.deployments.begin_create_or_update(group, "linked", body).result()
    assert result.properties.provisioning_state == "Succeeded"
    assert result.properties.outputs["link"]["value"] == f"{files.base}/t/main.json"
    assert result.properties.template_link.uri == f"{files.base}/t/main.json"
    # ARM answers the linked template's contentVersion beside the link, never the SAS token
    # (the REST specification's PutDeploymentResourceGroup.json example)
    assert result.properties.template_link.content_version == "1.0.0.0"
    assert result.properties.template_link.query_string is None
    assert list(dict.fromkeys(files.asked)) == [
        "/t/main.json?sv=1&sig=x",
        "/p/main.parameters.json",
        "/t/nested/child.json?sv=1&sig=x",  # the parent's queryString applies to relative paths
    ]
    ids = {r["name"] for r in arm.store.list_resources(SUB, "rg-test")}
    assert {"stmain01", "stchild01"} <= ids
    # what-if follows the links too: no nested deployment left unsupported
    preview = deployments.deployments.begin_what_if(group, "linked", body).result()
    assert {c.change_type for c in preview.changes} == {"NoChange"}


def test_unreachable_link_is_invalid_content_link(
    arm: LocalArm, deployments: Any, files: Files, group: str
) -> None:
    body = {"properties": {"mode": "Incremental", "templateLink": {"uri": f"{files.base}/none"}}}
    with pytest.raises(HttpResponseError) as caught:
        deployments.deployments.begin_create_or_update(group, "missing", body).result()
    assert caught.value.status_code == 400
    assert caught.value.error.code == "InvalidContentLink"
    assert f"'{files.base}/none': the server answered 404" in caught.value.error.message
    files.files["/t/bad.json"] = template([nested_link("n", relativePath="gone.json")])
    body["properties"]["templateLink"] = {"uri": f"{files.base}/t/bad.json"}
    with pytest.raises(HttpResponseError) as caught:
        deployments.deployments.begin_create_or_update(group, "bad", body).result()
    assert caught.value.error.code == "InvalidContentLink"
    assert caught.value.error.target == "resources[0]"  # the nested deployment


def test_template_spec_versions_deploy_by_id(arm: LocalArm, deployments: Any, group: str) -> None:
    specs = TemplateSpecsClient(**arm.connection.client_kwargs())
    spec = specs.template_specs.create_or_update(
        group, "storage-spec", {"location": "westeurope", "properties": {"description": "d"}}
    )
    assert spec.id == f"{RG_ID}/providers/Microsoft.Resources/templateSpecs/storage-spec"
    main = template(
        [storage("stspec01"), nested_link("inner", relativePath="artifacts/inner.json")]
    )
    version = specs.template_spec_versions.create_or_update(
        group,
        "storage-spec",
        "1.0",
        {
            "location": "westeurope",
            "properties": {
                "mainTemplate": main,
                "linkedTemplates": [
                    {"path": "artifacts/inner.json", "template": template([storage("stspec02")])}
                ],
            },
        },
    )
    assert version.main_template["resources"][0]["name"] == "stspec01"
    listed = list(specs.template_spec_versions.list(group, "storage-spec"))
    assert [v.name for v in listed] == ["1.0"]
    body = deploy_body(template([]))
    del body["properties"]["template"]
    body["properties"]["templateLink"] = {"id": version.id}
    result = deployments.deployments.begin_create_or_update(group, "from-spec", body).result()
    assert result.properties.provisioning_state == "Succeeded"
    assert result.properties.template_link.id == version.id
    assert result.properties.template_link.content_version == "1.0.0.0"
    names = {r["name"] for r in arm.store.list_resources(SUB, "rg-test")}
    assert {"stspec01", "stspec02"} <= names
    # Bicep's `module m 'ts:…'` compiles to a nested deployment linked by id
    module = template([nested_link("ts-module", id=version.id)])
    nested = deployments.deployments.begin_create_or_update(
        group, "with-module", deploy_body(module)
    ).result()
    assert nested.properties.provisioning_state == "Succeeded"
    body["properties"]["templateLink"] = {"id": version.id.replace("1.0", "9.9")}
    with pytest.raises(HttpResponseError) as caught:
        deployments.deployments.begin_create_or_update(group, "nope", body).result()
    assert caught.value.error.code == "TemplateSpecVersionNotFound"


def test_template_whose_schema_names_the_parameters_file_is_deployed(
    deployments: Any, group: str
) -> None:
    tpl = template([storage("stschema01")])
    tpl["$schema"] = (
        "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"
    )
    result = deployments.deployments.begin_create_or_update(group, "p", deploy_body(tpl)).result()
    assert result.properties.provisioning_state == "Succeeded"


# -- a SAS token is a credential ----------------------------------------------------------
SECRET = "sIgN4tuReSeCrEt0123456789abcdef"
SAS = f"sv=2024-11-04&se=2030-01-01T00%3A00%3A00Z&sp=r&sig={SECRET}"


def link_error(where: str, why: str) -> str:
    return (
        f"Unable to download deployment content from '{where}': {why}. Please see "
        "https://aka.ms/arm-deploy for usage details."
    )


def test_a_failed_fetch_never_echoes_the_sas_token(
    arm: LocalArm,
    deployments: Any,
    files: Files,
    group: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    answers: list[str] = []

    def refused(name: str, properties: dict[str, Any]) -> HttpResponseError:
        with pytest.raises(HttpResponseError) as caught:
            deployments.deployments.begin_create_or_update(
                group, name, {"properties": {"mode": "Incremental", **properties}}
            ).result()
        answers.append(caught.value.response.text())
        assert caught.value.status_code == 400
        assert caught.value.error.code == "InvalidContentLink"
        return caught.value

    # a 404, the SAS in queryString
    error = refused("q", {"templateLink": {"uri": f"{files.base}/none", "queryString": SAS}})
    assert error.error.message == link_error(f"{files.base}/none", "the server answered 404")
    assert files.asked[-1] == f"/none?{SAS}"  # sent to the address, and only there
    # the SAS written into the uri itself
    error = refused("u", {"templateLink": {"uri": f"{files.base}/none?{SAS}"}})
    assert error.error.message == link_error(f"{files.base}/none", "the server answered 404")
    # an address the network library refuses, quoting it in its reason
    error = refused("c", {"templateLink": {"uri": f"{files.base}/a b", "queryString": SAS}})
    assert error.error.message.startswith(
        f"Unable to download deployment content from '{files.base}/a b': it could not be "
        "reached (URL can't contain control characters."
    )
    assert "[query string]" in error.error.message
    # a nested relativePath under a parent linked with the SAS
    files.files["/t/bad.json"] = template([nested_link("n", relativePath="gone.json")])
    error = refused("r", {"templateLink": {"uri": f"{files.base}/t/bad.json", "queryString": SAS}})
    assert error.error.message == link_error(f"{files.base}/t/gone.json", "the server answered 404")
    assert files.asked[-1] == f"/t/gone.json?{SAS}"
    # a parameters file behind a SAS
    files.files["/t/ok.json"] = template([])
    error = refused(
        "p",
        {
            "templateLink": {"uri": f"{files.base}/t/ok.json"},
            "parametersLink": {"uri": f"{files.base}/p/none.json?{SAS}"},
        },
    )
    assert error.error.message == link_error(f"{files.base}/p/none.json", "the server answered 404")
    # what-if refuses it the same way
    with pytest.raises(HttpResponseError) as caught:
        deployments.deployments.begin_what_if(
            group,
            "w",
            {
                "properties": {
                    "mode": "Incremental",
                    "templateLink": {"uri": f"{files.base}/none", "queryString": SAS},
                }
            },
        ).result()
    assert caught.value.error.message == link_error(f"{files.base}/none", "the server answered 404")
    answers.append(caught.value.response.text())
    log = requests_log(arm)
    assert all(SECRET not in text for text in answers)
    assert SECRET not in log and SECRET not in caplog.text
    assert SECRET not in state_dump(arm)


def test_a_deployment_records_its_link_without_the_query_string(
    arm: LocalArm, deployments: Any, files: Files, group: str
) -> None:
    files.files["/t/main.json"] = template(
        [nested_link("child", relativePath="child.json")],
        outputs={"link": {"type": "string", "value": "[deployment().properties.templateLink.uri]"}},
    )
    files.files["/t/child.json"] = template([storage("stsas01")])
    body = {
        "properties": {
            "mode": "Incremental",
            "templateLink": {"uri": f"{files.base}/t/main.json", "queryString": SAS},
        }
    }
    result = deployments.deployments.begin_create_or_update(group, "sas", body).result()
    assert result.properties.provisioning_state == "Succeeded"
    assert files.asked[-1] == f"/t/child.json?{SAS}"  # the running deployment still holds it
    link = deployments.deployments.get(group, "sas").properties.template_link
    assert (link.uri, link.query_string) == (f"{files.base}/t/main.json", None)
    listed = [d.as_dict() for d in deployments.deployments.list_by_resource_group(group)]
    assert SECRET not in json.dumps(listed)
    assert SECRET not in state_dump(arm)


def requests_log(arm: LocalArm) -> str:
    conn = arm.connection
    answer = requests.get(
        f"{conn.base_url}/_localarm/requests",
        headers={"Authorization": f"Bearer {conn.token}"},
        verify=conn.ca_file,
        timeout=10,
    )
    assert answer.status_code == 200
    return answer.text


def state_dump(arm: LocalArm) -> str:
    """Every row of the local ARM's state, as SQL text."""
    store = arm.store
    with store._lock:
        return "\n".join(store._conn.iterdump())


def test_nested_deployment_with_parameters_link(
    arm: LocalArm, deployments: Any, files: Files, group: str
) -> None:
    """A ``Microsoft.Resources/deployments`` resource whose properties name a parameters file
    (``parametersLink``) instead of ``parameters``: fetched and applied, for a linked nested
    template (its address computed from the parent's link) and an inline one in inner scope."""
    child = template(
        [storage("[parameters('name')]")],
        parameters={"name": {"type": "string"}},
        outputs={"name": {"type": "string", "value": "[parameters('name')]"}},
    )
    files.files["/t/child.json"] = child
    files.files["/t/child.parameters.json"] = {"parameters": {"name": {"value": "stplink01"}}}
    files.files["/p/inline.parameters.json"] = {"parameters": {"name": {"value": "stplink02"}}}
    linked = nested_link("linked", relativePath="child.json")
    linked["properties"]["parametersLink"] = {
        "uri": "[uri(deployment().properties.templateLink.uri, 'child.parameters.json')]"
    }
    inline = {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": "2022-09-01",
        "name": "inline",
        "properties": {
            "mode": "Incremental",
            "expressionEvaluationOptions": {"scope": "inner"},
            "template": child,
            "parametersLink": {"uri": f"{files.base}/p/inline.parameters.json"},
        },
    }
    files.files["/t/main.json"] = template(
        [linked, inline],
        outputs={
            "linked": {"type": "string", "value": "[reference('linked').outputs.name.value]"},
            "inline": {"type": "string", "value": "[reference('inline').outputs.name.value]"},
        },
    )
    body = {
        "properties": {"mode": "Incremental", "templateLink": {"uri": f"{files.base}/t/main.json"}}
    }
    result = deployments.deployments.begin_create_or_update(group, "plink", body).result()
    assert result.properties.provisioning_state == "Succeeded"
    outputs = {k: v["value"] for k, v in result.properties.outputs.items()}
    assert outputs == {"linked": "stplink01", "inline": "stplink02"}
    names = {r["name"] for r in arm.store.list_resources(SUB, "rg-test")}
    assert {"stplink01", "stplink02"} <= names
    nested = deployments.deployments.get(group, "linked").properties.parameters
    assert nested == {"name": {"type": "String", "value": "stplink01"}}
    assert "/t/child.parameters.json" in files.asked
    # what-if fetches the parameters files too: the resources, not an Unsupported deployment
    preview = deployments.deployments.begin_what_if(group, "plink", body).result()
    assert {c.change_type for c in preview.changes} == {"NoChange"}
    # parameters and parametersLink together: refused, as the REST model says ("not both")
    inline["properties"]["parameters"] = {"name": {"value": "stplink03"}}
    files.files["/t/both.json"] = template([inline])
    body["properties"]["templateLink"]["uri"] = f"{files.base}/t/both.json"
    with pytest.raises(HttpResponseError) as caught:
        deployments.deployments.begin_create_or_update(group, "both", body).result()
    assert caught.value.status_code == 400
    assert (caught.value.error.code, caught.value.error.target) == (
        "InvalidDeploymentParameters",
        "resources[0]",
    )
    assert caught.value.error.message == (
        "The nested deployment 'inline' takes 'parameters' or 'parametersLink', not both."
    )


def test_a_sas_written_into_the_uri_never_comes_back(
    arm: LocalArm,
    deployments: Any,
    files: Files,
    group: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A SAS token written into ``templateLink.uri`` or ``parametersLink.uri`` themselves (not
    in ``queryString``), at the top and in a nested deployment whose address is computed from
    a secure parameter (the linked-templates page's ``concat(…, '?', sasToken)``): fetched
    with it, and answered — GET, list, what-if, outputs, the state file, the request log, the
    server's log — as Azure's records show a link (``uri`` without its query, the template's
    ``contentVersion``)."""
    caplog.set_level(logging.DEBUG)
    files.files["/t/main.json"] = template(
        [
            {
                "type": "Microsoft.Resources/deployments",
                "apiVersion": "2022-09-01",
                "name": "child",
                "properties": {
                    "mode": "Incremental",
                    "templateLink": {
                        "uri": "[concat(parameters('base'), '/t/child.json?', parameters('sas'))]"
                    },
                },
            }
        ],
        parameters={"base": {"type": "string"}, "sas": {"type": "securestring"}},
        outputs={"link": {"type": "string", "value": "[deployment().properties.templateLink.uri]"}},
    )
    files.files["/t/child.json"] = template(
        [storage("stsasuri1")],
        outputs={"link": {"type": "string", "value": "[deployment().properties.templateLink.uri]"}},
    )
    files.files["/p/main.parameters.json"] = {
        "parameters": {"base": {"value": files.base}, "sas": {"value": SAS}}
    }
    body = {
        "properties": {
            "mode": "Incremental",
            "templateLink": {"uri": f"{files.base}/t/main.json?{SAS}"},
            "parametersLink": {"uri": f"{files.base}/p/main.parameters.json?{SAS}"},
        }
    }
    preview = deployments.deployments.begin_what_if(group, "sasuri", body).result()
    assert [(c.change_type, c.resource_id.rsplit("/", 1)[1]) for c in preview.changes] == [
        ("Create", "stsasuri1")
    ]
    result = deployments.deployments.begin_create_or_update(group, "sasuri", body).result()
    assert result.properties.provisioning_state == "Succeeded"
    assert set(files.asked) >= {
        f"/t/main.json?{SAS}",
        f"/p/main.parameters.json?{SAS}",
        f"/t/child.json?{SAS}",
    }
    top = deployments.deployments.get(group, "sasuri").properties
    assert top.template_link.as_dict() == {
        "uri": f"{files.base}/t/main.json",
        "contentVersion": "1.0.0.0",
    }
    assert top.parameters_link.as_dict() == {"uri": f"{files.base}/p/main.parameters.json"}
    assert top.outputs["link"]["value"] == f"{files.base}/t/main.json"
    child = deployments.deployments.get(group, "child").properties
    assert child.template_link.uri == f"{files.base}/t/child.json"
    assert child.outputs["link"]["value"] == f"{files.base}/t/child.json"
    answers = [
        preview.as_dict(),
        result.as_dict(),
        *[d.as_dict() for d in deployments.deployments.list_by_resource_group(group)],
        *[o.as_dict() for o in deployments.deployment_operations.list(group, "sasuri")],
        *[o.as_dict() for o in deployments.deployment_operations.list(group, "child")],
    ]
    assert all(SECRET not in json.dumps(a, default=str) for a in answers)
    assert SECRET not in state_dump(arm)
    assert SECRET not in requests_log(arm) and SECRET not in caplog.text
