"""The local ARM's SQLite store: records, case-insensitive lookups, cascades, history rules."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bicep_assets.armlocal.engine import DeploymentContext, ResourceGroup, expand
from bicep_assets.armlocal.state.store import ArmStore, ArmStoreError, deployment_id

from .store_helpers import (
    OTHER_SUB,
    SUB,
    TEMPLATE,
    Clock,
    deployment,
    group_id,
    operation,
    site,
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[ArmStore]:
    with ArmStore(tmp_path / "arm.db", clock=clock) as opened:
        opened.create_or_update_resource_group(SUB, "rg", location="westeurope")
        yield opened


# -- opening ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("synchronous", "pragma_value"), [("NORMAL", 1), ("FULL", 2)], ids=["normal", "full"]
)
def test_a_file_store_uses_wal_and_the_chosen_synchronous_level(
    tmp_path: Path, synchronous: Any, pragma_value: int
) -> None:
    with ArmStore(tmp_path / "nested" / "arm.db", synchronous=synchronous) as store:
        assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == pragma_value
    assert (tmp_path / "nested" / "arm.db").exists()


def test_an_unknown_synchronous_level_is_refused() -> None:
    with pytest.raises(ValueError, match="synchronous must be 'NORMAL' or 'FULL', not 'OFF'"):
        ArmStore(synchronous="OFF")  # type: ignore[arg-type]


def test_in_memory_stores_are_private() -> None:
    first, second = ArmStore(), ArmStore()
    first.create_or_update_resource_group(SUB, "rg", location="westeurope")
    assert second.get_resource_group(SUB, "rg") is None
    assert first.path is None


def test_state_survives_reopening_the_file(tmp_path: Path) -> None:
    with ArmStore(tmp_path / "arm.db") as store:
        store.create_or_update_resource_group(SUB, "rg", location="westeurope")
        store.put_resource(site("rg", "app"))
    with ArmStore(tmp_path / "arm.db") as reopened:
        assert reopened.get_resource(site("rg", "app")["id"]) == site("rg", "app")


def test_a_file_from_another_schema_version_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "arm.db"
    ArmStore(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA user_version=99")
    with pytest.raises(ArmStoreError) as info:
        ArmStore(path)
    assert info.value.code == "StoreSchemaMismatch"
    assert f"'{path}' has schema version 99" in info.value.message
    assert "Delete the file" in info.value.message


def test_reset_empties_everything(store: ArmStore) -> None:
    store.put_resource(site("rg", "app"))
    store.put_deployment(group_id("rg"), "d1", deployment(group_id("rg"), "d1"), TEMPLATE)
    store.reset()
    assert store.list_resource_groups(SUB) == []
    assert store.list_resources(SUB) == []
    assert store.count_deployments(group_id("rg")) == 0


# -- resource groups ---------------------------------------------------------------------------


def test_resource_group_body_is_arm_shaped(store: ArmStore) -> None:
    body = store.create_or_update_resource_group(
        SUB, "Demo-RG", location="West Europe", tags={"env": "dev"}, managed_by="/x/y"
    )
    assert body == {
        "id": f"/subscriptions/{SUB}/resourceGroups/Demo-RG",
        "name": "Demo-RG",
        "type": "Microsoft.Resources/resourceGroups",
        "location": "westeurope",
        "tags": {"env": "dev"},
        "managedBy": "/x/y",
        "properties": {"provisioningState": "Succeeded"},
    }
    assert store.get_resource_group(SUB, "demo-rg") == body
    assert store.get_resource_group(SUB.upper(), "DEMO-RG") == body
    assert store.get_resource(f"/SUBSCRIPTIONS/{SUB}/resourcegroups/demo-rg") == body


def test_updating_a_group_keeps_its_first_spelling_and_replaces_tags(store: ArmStore) -> None:
    store.create_or_update_resource_group(SUB, "Demo", location="westeurope", tags={"a": "1"})
    body = store.create_or_update_resource_group(SUB, "DEMO", location="westeurope", tags={})
    assert (body["name"], body["tags"]) == ("Demo", {})
    assert [g["name"] for g in store.list_resource_groups(SUB)] == ["Demo", "rg"]


def test_a_group_cannot_move_to_another_location(store: ArmStore) -> None:
    with pytest.raises(ArmStoreError) as info:
        store.create_or_update_resource_group(SUB, "RG", location="East US")
    assert (info.value.status, info.value.code) == (409, "InvalidResourceGroupLocation")
    assert info.value.message == (
        "Invalid resource group location 'eastus'. The Resource group already exists in "
        "location 'westeurope'."
    )


def test_groups_are_listed_per_subscription(store: ArmStore) -> None:
    store.create_or_update_resource_group(OTHER_SUB, "rg", location="northeurope")
    assert [g["location"] for g in store.list_resource_groups(SUB)] == ["westeurope"]
    assert [g["location"] for g in store.list_resource_groups(OTHER_SUB)] == ["northeurope"]
    assert store.delete_resource_group(OTHER_SUB, "RG") is True
    assert store.get_resource_group(SUB, "rg") is not None


def test_deleting_a_missing_group_reports_false(store: ArmStore) -> None:
    assert store.delete_resource_group(SUB, "nope") is False


def test_deleting_a_group_deletes_its_resources_and_history_only(store: ArmStore) -> None:
    for name in ("rg2", "rg-x", "rg.x"):  # keys that sort right beside "rg/"
        store.create_or_update_resource_group(SUB, name, location="westeurope")
        store.put_resource(site(name, "app"))
        store.put_deployment(group_id(name), "d", deployment(group_id(name), "d"), TEMPLATE)
    store.put_resource(site("rg", "app"))
    child = {"id": site("rg", "app")["id"] + "/slots/staging", "properties": {}}
    store.put_resource(child)
    store.put_deployment(group_id("rg"), "d", deployment(group_id("rg"), "d"), TEMPLATE)
    store.put_operation(deployment_id(group_id("rg"), "d"), operation("op1", child["id"]))

    assert store.delete_resource_group(SUB, "RG") is True

    assert store.get_resource_group(SUB, "rg") is None
    assert store.list_resources(SUB, "rg") == []
    assert store.get_resource(child["id"]) is None
    assert store.get_deployment(group_id("rg"), "d") is None
    assert store.list_operations(deployment_id(group_id("rg"), "d")) == []
    for name in ("rg2", "rg-x", "rg.x"):
        assert [r["id"] for r in store.list_resources(SUB, name)] == [site(name, "app")["id"]]
        assert store.count_deployments(group_id(name)) == 1


# -- resources ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        lambda rid: rid,
        lambda rid: rid.lower(),
        lambda rid: rid.upper(),
        lambda rid: rid.replace("resourceGroups", "resourcegroups") + "/",
    ],
    ids=["as-created", "lower", "upper", "sdk-lowercase-segment-and-slash"],
)
def test_resources_are_found_whatever_the_case(store: ArmStore, spelling: Any) -> None:
    body = site("rg", "MyApp")
    store.put_resource(body)
    assert store.get_resource(spelling(body["id"])) == body


def test_a_resource_keeps_its_first_spelling_and_created_time(
    store: ArmStore, clock: Clock
) -> None:
    store.put_resource(site("rg", "MyApp"))
    clock.tick(60)
    update = site("rg", "MYAPP", tags={"v": "2"})
    update["id"] = update["id"].upper()
    stored = store.put_resource(update)
    assert (stored["id"], stored["name"]) == (site("rg", "MyApp")["id"], "MyApp")
    assert stored["tags"] == {"v": "2"}
    [listed] = store.list_resources(SUB, "rg", expand=["createdTime", "CHANGEDTIME"])
    assert listed["createdTime"] == "2026-01-02T03:04:05.0000000Z"
    assert listed["changedTime"] == "2026-01-02T03:05:05.0000000Z"
    assert "provisioningState" not in listed


def test_list_expand_adds_the_provisioning_state(store: ArmStore) -> None:
    store.put_resource(site("rg", "app", state="Creating"))
    [listed] = store.list_resources(SUB, expand=["provisioningState", "unknownField"])
    assert listed["provisioningState"] == "Creating"
    assert "unknownField" not in listed


def test_the_stored_body_is_a_copy(store: ArmStore) -> None:
    body = site("rg", "app")
    stored = store.put_resource(body)
    stored["properties"]["provisioningState"] = "changed by the caller"
    body["tags"]["x"] = "y"
    assert store.get_resource(body["id"]) == site("rg", "app")


def test_a_resource_needs_its_group(store: ArmStore) -> None:
    with pytest.raises(ArmStoreError) as info:
        store.put_resource(site("Missing-RG", "app"))
    assert (info.value.status, info.value.code) == (404, "ResourceGroupNotFound")
    assert info.value.message == "Resource group 'Missing-RG' could not be found."


@pytest.mark.parametrize(
    "body",
    [{}, {"id": 42}, {"id": "/subscriptions/s/resourceGroups/rg"}],
    ids=["no-id", "not-a-string", "not-a-resource-id"],
)
def test_a_resource_body_needs_a_resource_id(store: ArmStore, body: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="A resource body needs an ARM resource id"):
        store.put_resource(body)


def test_list_resources_filters_by_group_and_type(store: ArmStore) -> None:
    store.create_or_update_resource_group(SUB, "other", location="westeurope")
    store.put_resource(site("rg", "b"))
    store.put_resource(site("rg", "A"))
    store.put_resource(site("other", "c"))
    plan = {"id": f"{group_id('rg')}/providers/Microsoft.Web/serverfarms/plan"}
    store.put_resource(plan)  # no "type": taken from the id
    role = {"id": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/r1"}
    store.put_resource(role)  # subscription level: no group
    names = [r["id"].rsplit("/", 1)[-1] for r in store.list_resources(SUB.upper())]
    assert names == ["r1", "c", "plan", "A", "b"]  # ordered by id, case-insensitively
    by_group = store.list_resources(SUB, "RG", resource_type="microsoft.web/SITES")
    assert [r["name"] for r in by_group] == ["A", "b"]
    types = store.list_resources(SUB, "rg", resource_type="Microsoft.Web/serverfarms")
    assert [r["id"] for r in types] == [plan["id"]]
    assert store.list_resources(OTHER_SUB) == []


def test_deleting_a_resource_deletes_children_and_extensions_but_not_neighbours(
    store: ArmStore,
) -> None:
    app = site("rg", "app")["id"]
    under = [app + "/slots/staging", app + "/slots/staging/config/web"]
    under.append(app + "/providers/Microsoft.Authorization/roleAssignments/ra")
    neighbours = [site("rg", n)["id"] for n in ("app0", "app2", "app-x", "app.x", "ap")]
    for rid in [app, *under, *neighbours]:
        store.put_resource({"id": rid, "properties": {}})

    deleted = store.delete_resource(app.upper())

    assert deleted[0] == app
    assert sorted(deleted) == sorted([app, *under])
    for rid in [app, *under]:
        assert store.get_resource(rid) is None
    assert sorted(r["id"] for r in store.list_resources(SUB)) == sorted(neighbours)
    assert store.delete_resource(app) == []


# -- deployments -------------------------------------------------------------------------------


RG = group_id("rg")


def test_deployment_crud_is_case_insensitive(store: ArmStore) -> None:
    body = deployment(RG, "Main")
    assert store.put_deployment(RG, "Main", body, TEMPLATE) == body
    assert store.get_deployment(RG.lower(), "MAIN") == body
    assert store.get_deployment_template(RG.upper() + "/", "main") == TEMPLATE
    assert store.get_resource(deployment_id(RG, "main")) == body  # the engine's reference()
    assert store.delete_deployment(RG, "MAIN") is True
    assert store.get_deployment(RG, "Main") is None
    assert store.get_deployment_template(RG, "Main") is None
    assert store.delete_deployment(RG, "Main") is False


def test_deployments_need_an_existing_group_but_not_a_subscription(store: ArmStore) -> None:
    with pytest.raises(ArmStoreError) as info:
        store.put_deployment(group_id("gone"), "d", deployment(group_id("gone"), "d"), TEMPLATE)
    assert (info.value.code, info.value.message) == (
        "ResourceGroupNotFound",
        "Resource group 'gone' could not be found.",
    )
    sub_scope = f"/subscriptions/{SUB}"
    store.put_deployment(sub_scope, "d", deployment(sub_scope, "d"), TEMPLATE)
    assert store.count_deployments(sub_scope) == 1
    assert store.count_deployments(RG) == 0  # scopes are separate histories


def test_history_is_newest_first_and_filters_by_state(store: ArmStore) -> None:
    for name, state in [("a", "Succeeded"), ("b", "Failed"), ("c", "Succeeded")]:
        store.put_deployment(RG, name, deployment(RG, name, state=state), TEMPLATE)
    assert [d["name"] for d in store.list_deployments(RG)] == ["c", "b", "a"]
    succeeded = store.list_deployments(RG, provisioning_state="succeeded")
    assert [d["name"] for d in succeeded] == ["c", "a"]
    assert store.last_successful_deployment(RG) == deployment(RG, "c", state="Succeeded")
    assert store.last_successful_deployment(RG, exclude_name="C") == deployment(
        RG, "a", state="Succeeded"
    )
    assert store.last_successful_deployment(group_id("none")) is None


def test_a_new_run_moves_to_the_newest_place_and_drops_old_operations(store: ArmStore) -> None:
    for name in ("a", "b"):
        store.put_deployment(RG, name, deployment(RG, name, state="Succeeded"), TEMPLATE)
    store.put_operation(deployment_id(RG, "a"), operation("op1", site("rg", "x")["id"]))

    new_template = {**TEMPLATE, "contentVersion": "2.0.0.0"}
    store.put_deployment(RG, "A", deployment(RG, "A", correlation="run-2"), new_template)

    assert [d["name"] for d in store.list_deployments(RG)] == ["A", "b"]
    assert store.list_operations(deployment_id(RG, "a")) == []
    assert store.get_deployment_template(RG, "a") == new_template


def test_progress_of_the_same_run_keeps_place_and_operations(store: ArmStore) -> None:
    store.put_deployment(RG, "a", deployment(RG, "a"), TEMPLATE)
    store.put_deployment(RG, "b", deployment(RG, "b", state="Succeeded"), TEMPLATE)
    store.put_operation(deployment_id(RG, "a"), operation("op1", site("rg", "x")["id"]))

    store.put_deployment(RG, "a", deployment(RG, "a", state="Succeeded"), TEMPLATE)
    store.update_deployment(RG, "A", deployment(RG, "a", state="Failed"))

    assert [d["name"] for d in store.list_deployments(RG)] == ["b", "a"]
    assert [o["operationId"] for o in store.list_operations(deployment_id(RG, "a"))] == ["op1"]
    assert store.get_deployment(RG, "a") == deployment(RG, "a", state="Failed")


def test_updating_a_missing_deployment_is_deployment_not_found(store: ArmStore) -> None:
    with pytest.raises(ArmStoreError) as info:
        store.update_deployment(RG, "ghost", deployment(RG, "ghost"))
    assert (info.value.status, info.value.code) == (404, "DeploymentNotFound")
    assert info.value.message == "Deployment 'ghost' could not be found."


def test_running_deployments_are_reported(store: ArmStore) -> None:
    assert store.has_running_deployments() is False
    store.put_deployment(RG, "a", deployment(RG, "a", state="Accepted"), TEMPLATE)
    assert store.has_running_deployments() is True
    assert store.has_running_deployments(RG.upper()) is True
    assert store.has_running_deployments(f"/subscriptions/{SUB}") is False
    store.update_deployment(RG, "a", deployment(RG, "a", state="Canceled"))
    assert store.has_running_deployments() is False


def fill_history(store: ArmStore, scope: str, count: int, *, state: str = "Succeeded") -> None:
    with store.transaction():
        for index in range(count):
            name = f"d{index:04d}"
            store.put_deployment(scope, name, deployment(scope, name, state=state), TEMPLATE)


@pytest.mark.parametrize(
    ("count", "remaining"),
    [(600, 600), (700, 700), (701, 600), (750, 600), (800, 600)],
    ids=["600-kept", "700-kept", "701-to-600", "750-to-600", "800-to-600"],
)
def test_history_pruning_follows_arm(store: ArmStore, count: int, remaining: int) -> None:
    fill_history(store, RG, count)
    deleted = store.prune_deployments(RG)
    assert store.count_deployments(RG) == remaining
    assert deleted == [f"d{i:04d}" for i in range(count - remaining)]  # the oldest first
    kept = [d["name"] for d in store.list_deployments(RG)]
    assert kept[-1] == f"d{count - remaining:04d}" and kept[0] == f"d{count - 1:04d}"


def test_pruning_spares_a_redeployed_name_and_other_scopes(store: ArmStore) -> None:
    store.create_or_update_resource_group(SUB, "quiet", location="westeurope")
    fill_history(store, group_id("quiet"), 5)
    fill_history(store, RG, 701)
    store.put_deployment(RG, "d0000", deployment(RG, "d0000", correlation="again"), TEMPLATE)
    store.update_deployment(RG, "d0000", deployment(RG, "d0000", state="Succeeded"))

    deleted = store.prune_deployments(RG)

    assert "d0000" not in deleted and deleted[0] == "d0001"
    assert store.get_deployment(RG, "d0000") is not None
    assert store.count_deployments(group_id("quiet")) == 5


def test_pruning_never_deletes_a_running_deployment(store: ArmStore) -> None:
    store.put_deployment(RG, "oldest", deployment(RG, "oldest", state="Running"), TEMPLATE)
    fill_history(store, RG, 700)
    deleted = store.prune_deployments(RG)
    assert "oldest" not in deleted and len(deleted) == 101
    assert store.get_deployment(RG, "oldest") is not None
    assert store.count_deployments(RG) == 600


# -- deployment operations ---------------------------------------------------------------------


def test_operations_keep_their_order_and_update_by_operation_id(store: ArmStore) -> None:
    store.put_deployment(RG, "d", deployment(RG, "d"), TEMPLATE)
    did = deployment_id(RG, "d")
    for op_id in ("OP-B", "op-a", "op-c"):
        store.put_operation(did, operation(op_id, site("rg", op_id)["id"]))
    store.put_operation(did.upper(), operation("op-b", site("rg", "x")["id"], state="Failed"))

    listed = store.list_operations(did.lower())

    assert [o["operationId"] for o in listed] == ["op-b", "op-a", "op-c"]
    assert [o["properties"]["provisioningState"] for o in listed] == [
        "Failed",
        "Running",
        "Running",
    ]
    assert store.get_operation(did, "OP-A") == operation("op-a", site("rg", "op-a")["id"])
    assert store.get_operation(did, "nope") is None


def test_an_operation_needs_its_deployment(store: ArmStore) -> None:
    with pytest.raises(ArmStoreError) as info:
        store.put_operation(deployment_id(RG, "ghost"), operation("op", "x"))
    assert (info.value.code, info.value.message) == (
        "DeploymentNotFound",
        "Deployment 'ghost' could not be found.",
    )
    with pytest.raises(ValueError, match="needs an 'operationId'"):
        store.put_operation(deployment_id(RG, "ghost"), {"properties": {}})


def test_deleting_a_deployment_deletes_its_operations(store: ArmStore) -> None:
    store.put_deployment(RG, "d", deployment(RG, "d"), TEMPLATE)
    store.put_operation(deployment_id(RG, "d"), operation("op", "x"))
    store.delete_deployment(RG, "d")
    store.put_deployment(RG, "d", deployment(RG, "d"), TEMPLATE)  # same run id, fresh row
    assert store.list_operations(deployment_id(RG, "d")) == []


# -- transactions ------------------------------------------------------------------------------


class Boom(Exception):
    pass


def test_a_failed_transaction_leaves_nothing_behind(store: ArmStore) -> None:
    with pytest.raises(Boom), store.transaction():
        store.put_resource(site("rg", "app"))
        store.put_deployment(RG, "d", deployment(RG, "d"), TEMPLATE)
        raise Boom
    assert store.get_resource(site("rg", "app")["id"]) is None
    assert store.get_deployment(RG, "d") is None
    store.put_resource(site("rg", "app"))  # and the store still works
    assert store.get_resource(site("rg", "app")["id"]) is not None


def test_a_failed_nested_transaction_rolls_back_only_itself(store: ArmStore) -> None:
    with store.transaction():
        store.put_resource(site("rg", "kept"))
        with pytest.raises(Boom), store.transaction():
            store.put_resource(site("rg", "dropped"))
            raise Boom
        with pytest.raises(ArmStoreError, match="ResourceGroupNotFound"):
            store.put_resource(site("missing", "app"))  # a store method failing inside
        store.put_resource(site("rg", "also-kept"))
    assert [r["name"] for r in store.list_resources(SUB)] == ["also-kept", "kept"]


def test_an_outer_failure_undoes_committed_inner_transactions(store: ArmStore) -> None:
    with pytest.raises(Boom), store.transaction():
        with store.transaction():
            store.put_resource(site("rg", "inner"))
        raise Boom
    assert store.list_resources(SUB) == []


def test_other_threads_never_see_uncommitted_writes(store: ArmStore) -> None:
    events: list[str] = []
    written = threading.Event()
    seen: list[dict[str, Any] | None] = []

    def reader() -> None:
        written.wait(5)
        seen.append(store.get_resource(site("rg", "app")["id"]))
        events.append("read")

    thread = threading.Thread(target=reader)
    thread.start()
    with store.transaction():
        store.put_resource(site("rg", "app", state="Creating"))
        store.put_resource(site("rg", "app", state="Succeeded"))
        written.set()
        time.sleep(0.2)  # the reader is blocked, not reading a half-done state
        events.append("commit")
    thread.join(5)
    assert events == ["commit", "read"]
    assert seen == [site("rg", "app", state="Succeeded")]


# -- the engine's ResourceState ----------------------------------------------------------------


def test_the_store_is_the_engines_resource_state(tmp_path: Path) -> None:
    calls: list[tuple[str, str, str | None]] = []

    def list_keys(resource_id: str, action: str, api_version: str | None, body: Any) -> Any:
        calls.append((resource_id, action, api_version))
        return {"keys": [{"value": "k1"}]}

    store = ArmStore(tmp_path / "arm.db", action_handler=list_keys)
    store.create_or_update_resource_group(SUB, "rg", location="westeurope")
    sa_id = f"{RG}/providers/Microsoft.Storage/storageAccounts/sa"
    store.put_resource(
        {"id": sa_id, "properties": {"primaryEndpoints": {"blob": "https://sa.blob/"}}}
    )
    template = {
        **TEMPLATE,
        "outputs": {
            "blob": {
                "type": "string",
                "value": "[reference(resourceId('Microsoft.Storage/"
                "storageAccounts', 'SA'), '2023-01-01').primaryEndpoints.blob]",
            },
            "key": {
                "type": "string",
                "value": "[listKeys(resourceId('Microsoft.Storage/"
                "storageAccounts', 'sa'), '2023-01-01').keys[0].value]",
            },
        },
    }
    context = DeploymentContext(subscription_id=SUB, resource_group=ResourceGroup("rg"))
    outputs = expand(template, {}, context).evaluate_outputs(store)
    assert outputs == {
        "blob": {"type": "string", "value": "https://sa.blob/"},
        "key": {"type": "string", "value": "k1"},
    }
    assert calls == [(sa_id, "listKeys", "2023-01-01")]
    assert ArmStore().invoke_action(sa_id, "listKeys", None, None) is None
