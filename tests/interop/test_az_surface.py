"""Issue 16 through the official Azure CLI, unmodified: management locks enforced, a network
resource provisioned asynchronously, a template spec deployed by id and a linked template
fetched from a local web server. One az command per route (each costs ~0.5 s)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from .conftest import SUB, Az

pytestmark = pytest.mark.slow

STORAGE_TEMPLATE = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {"name": {"type": "string"}},
    "resources": [
        {
            "type": "Microsoft.Storage/storageAccounts",
            "apiVersion": "2023-01-01",
            "name": "[parameters('name')]",
            "location": "westeurope",
            "sku": {"name": "Standard_LRS"},
            "kind": "StorageV2",
        }
    ],
}


@pytest.fixture
def web() -> Iterator[tuple[str, list[str]]]:
    """A local web server with the template at /templates/storage.json; the paths asked."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            data = json.dumps(STORAGE_TEMPLATE).encode()
            found = self.path.split("?")[0] == "/templates/storage.json"
            self.send_response(200 if found else 404)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", asked
    server.shutdown()
    server.server_close()


def test_locks_refuse_deletes_until_removed(az: Az) -> None:
    az.json("group", "create", "-n", "rg-locked", "-l", "westeurope")
    lock = az.json("lock", "create", "-n", "keep", "-g", "rg-locked", "--lock-type", "CanNotDelete")
    assert lock["level"] == "CanNotDelete"
    assert lock["id"] == (
        f"/subscriptions/{SUB}/resourceGroups/rg-locked/providers/Microsoft.Authorization/locks/keep"
    )
    assert [x["name"] for x in az.json("lock", "list", "-g", "rg-locked")] == ["keep"]
    refused = az.fails("group", "delete", "-n", "rg-locked", "--yes")
    assert "ScopeLocked" in refused and "cannot perform delete operation" in refused
    az.run("lock", "delete", "-n", "keep", "-g", "rg-locked")
    assert az.run("group", "delete", "-n", "rg-locked", "--yes").returncode == 0


def test_network_resource_is_polled_to_succeeded(az: Az) -> None:
    az.json("group", "create", "-n", "rg-async", "-l", "westeurope")
    vnet = az.json(
        "resource", "create", "-g", "rg-async", "-n", "vnet1",
        "--resource-type", "Microsoft.Network/virtualNetworks", "--api-version", "2024-05-01",
        "-l", "westeurope",
        "--properties", '{"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}',
    )  # fmt: skip
    assert vnet["properties"]["provisioningState"] == "Succeeded"
    assert "apiVersion" not in vnet
    patched = az.json(
        "resource", "patch", "--ids", vnet["id"], "--api-version", "2024-05-01",
        "--properties", '{"dhcpOptions": {"dnsServers": ["10.0.0.4"]}}',
    )  # fmt: skip
    assert patched["properties"]["dhcpOptions"] == {"dnsServers": ["10.0.0.4"]}
    assert patched["properties"]["addressSpace"] == {"addressPrefixes": ["10.0.0.0/16"]}


def test_template_spec_and_linked_template_deploy(az: Az, web: tuple[str, list[str]]) -> None:
    base, asked = web
    az.json("group", "create", "-n", "rg-links", "-l", "westeurope")
    az.write("storage-spec.json", json.dumps(STORAGE_TEMPLATE))
    spec = az.json(
        "ts", "create", "-g", "rg-links", "-n", "storage-spec", "-v", "1.0",
        "-l", "westeurope", "-f", "storage-spec.json", "--yes",
    )  # fmt: skip
    assert spec["id"].endswith(
        "/providers/Microsoft.Resources/templateSpecs/storage-spec/versions/1.0"
    )
    from_spec = az.json(
        "deployment", "group", "create", "-g", "rg-links", "-n", "from-spec",
        "--template-spec", spec["id"], "-p", "name=stfromspec01",
    )  # fmt: skip
    assert from_spec["properties"]["provisioningState"] == "Succeeded"
    linked = az.json(
        "deployment", "group", "create", "-g", "rg-links", "-n", "linked",
        "--template-uri", f"{base}/templates/storage.json", "--query-string", "sv=2024&sig=abc",
        "-p", "name=stlinked01",
    )  # fmt: skip
    assert linked["properties"]["provisioningState"] == "Succeeded"
    assert "/templates/storage.json?sv=2024&sig=abc" in asked
    names = [r["name"] for r in az.json("resource", "list", "-g", "rg-links")]
    assert {"stfromspec01", "stlinked01"} <= set(names)


def test_tags_through_az(az: Az) -> None:
    """``az tag`` calls the Tags API: create (PUT), update (PATCH), list (tag names)."""
    group = az.json("group", "create", "-n", "rg-tagged", "-l", "westeurope")
    created = az.json("tag", "create", "--resource-id", group["id"], "--tags", "team=a", "env=dev")
    assert created["id"] == f"{group['id']}/providers/Microsoft.Resources/tags/default"
    assert created["properties"]["tags"] == {"team": "a", "env": "dev"}
    merged = az.json(
        "tag", "update", "--resource-id", group["id"], "--operation", "merge", "--tags", "env=prod"
    )
    assert merged["properties"]["tags"] == {"team": "a", "env": "prod"}
    deleted = az.json(
        "tag", "update", "--resource-id", group["id"], "--operation", "delete", "--tags", "team"
    )
    assert deleted["properties"]["tags"] == {"env": "prod"}
    assert az.json("group", "show", "-n", "rg-tagged")["tags"] == {"env": "prod"}
    names = {t["tagName"]: t for t in az.json("tag", "list")}
    assert [v["tagValue"] for v in names["env"]["values"]] == ["prod"]
