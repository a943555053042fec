"""Bounded work: templates, parameters, manifests and requests built to exhaust memory or time
are refused with an ARM-shaped error naming where, inside a fixed memory ceiling.

Each attack is tried through every way in: the engine, `bicep-assets expand`, the local ARM's
REST API through the official SDK (deploy, validate, what-if), and lint.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from bicep_assets.armlocal import LocalArm, LocalArmConfig
from bicep_assets.armlocal.engine import TemplateError, expand
from bicep_assets.armlocal.engine.limits import (
    MAX_EVALUATION_BYTES,
    MAX_EXPRESSION_CHARS,
    MAX_JSON_DEPTH,
    MAX_RESOURCE_BYTES,
)
from bicep_assets.environments import load_environments
from bicep_assets.manifest_yaml import ManifestError
from tests.cli_helpers import run_bicep_assets

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


def template(variables: dict[str, Any] | None = None, **sections: Any) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "contentVersion": "1.0.0.0",
        "variables": variables or {},
        "resources": [],
        **sections,
    }


def output(value: str, kind: str = "string") -> dict[str, Any]:
    return {"outputs": {"o": {"type": kind, "value": value}}}


def doubling(step: str, seed: str, times: int = 40) -> dict[str, Any]:
    """``v0 = seed``; ``v(n) = step`` applied to ``v(n-1)`` twice — 2^times once expanded."""
    variables = {"v0": seed}
    for i in range(1, times + 1):
        previous = f"variables('v{i - 1}')"
        variables[f"v{i}"] = "[" + step.format(v=previous) + "]"
    return template(variables, **output(f"[length(variables('v{times}'))]", "int"))


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"x": value}
    return value


# (id, template, the message's distinctive part). Each would take gigabytes unbounded.
ATTACKS = [
    (
        "string-doubling",
        doubling("concat({v}, {v})", "ab"),
        "variables('v22'): The template language function 'concat' would produce a string of "
        "8,388,608 characters",
    ),
    (
        "array-doubling",
        doubling("concat({v}, {v})", "[createArray('x', 'x')]"),
        "variables('v19'): The template language function 'concat' produces a value larger "
        "than 4 MB",
    ),
    (
        "shared-nesting",  # small in memory (shared), 2^40 when written out
        doubling("createArray({v}, {v})", "[createArray('x', 'x')]"),
        "The template language function 'createArray' produces a value larger than 4 MB",
    ),
    (
        "object-literal-doubling",
        template(
            {"v0": "abcdefgh"}
            | {
                f"v{i}": {"a": f"[variables('v{i - 1}')]", "b": f"[variables('v{i - 1}')]"}
                for i in range(1, 41)
            },
            **output("[string(variables('v40'))]"),
        ),
        "The variable 'v18' produces a value larger than 4 MB",
    ),
    (
        "padLeft",
        template(**output("[padLeft('a', 1000000000, 'x')]")),
        "'padLeft' would produce a string of 1,000,000,000 characters",
    ),
    (
        "replace",
        template(
            {"big": "[padLeft('', 2000000, 'a')]"},
            **output("[replace(variables('big'), 'a', 'aaaa')]"),
        ),
        "'replace' would produce a string of 8,000,000 characters",
    ),
    (
        "format-alignment",
        template(
            {"f": "[padLeft('', 20000, '.')]"},
            **output("[format(replace(variables('f'), '.', '{0,999999}'), 'x')]"),
        ),
        "'format' would produce a string of",
    ),
    (
        "join",
        template(
            {"separator": "[padLeft('', 1000000, ',')]"},
            **output(
                "[join(map(range(0, 1000), lambda('i', string(lambdaVariables('i')))), "
                "variables('separator'))]"
            ),
        ),
        "'join' would produce a string of 999,002,890 characters",
    ),
    (
        "many-large-values",  # each value is allowed; together they exceed the budget
        template(
            {"big": "[padLeft('', 3000000, 'a')]"},
            **output(
                "[length(map(range(0, 10000), lambda('i', "
                "concat(variables('big'), string(lambdaVariables('i'))))))]",
                "int",
            ),
        ),
        f"more than {MAX_EVALUATION_BYTES // 1024 // 1024} MB of values",
    ),
    (
        "long-expression",
        template(**output("[concat('" + "a" * MAX_EXPRESSION_CHARS + "')]")),
        f"ARM allows at most {MAX_EXPRESSION_CHARS:,} in one expression",
    ),
    (
        "deep-json",
        template({"deep": nested(MAX_JSON_DEPTH + 1)}),
        f"nested more than {MAX_JSON_DEPTH} levels deep",
    ),
]
IDS = [a[0] for a in ATTACKS]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("tpl", "message"), [a[1:] for a in ATTACKS], ids=IDS)
def test_the_engine_refuses_each_attack_as_invalid_template(tpl: Any, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        expand(tpl).evaluate_outputs()
    assert info.value.code == "InvalidTemplate"
    assert message in info.value.message


def test_at_the_limits_templates_still_expand() -> None:
    deep = template({"deep": nested(MAX_JSON_DEPTH - 2)}, **output("[string(length('x'))]"))
    assert expand(deep).evaluate_outputs()["o"]["value"] == "1"
    longest = "[concat('" + "a" * (MAX_EXPRESSION_CHARS - 12) + "')]"
    assert len(longest) == MAX_EXPRESSION_CHARS
    assert len(expand(template(**output(longest))).evaluate_outputs()["o"]["value"]) > 24_000
    four_mb = template({"big": "[padLeft('', 4000000, 'a')]"}, **output("[variables('big')]"))
    assert len(expand(four_mb).evaluate_outputs()["o"]["value"]) == 4_000_000


def test_a_resource_definition_over_one_megabyte_is_refused() -> None:
    big = "a" * (MAX_RESOURCE_BYTES // 2)
    tpl = template(
        {"half": big},
        resources=[
            {
                "type": "Microsoft.Storage/storageAccounts",
                "apiVersion": "2023-01-01",
                "name": "sa",
                "location": "westeurope",
                "tags": {"a": "[variables('half')]", "b": "[variables('half')]"},
            }
        ],
    )
    with pytest.raises(TemplateError, match=r"resources\[0\]: the resource definition is larger"):
        expand(tpl)
    tpl["resources"][0]["tags"].pop("b")
    assert expand(tpl).resources[0].body["tags"]["a"] == big


# The probe's own peak: VmHWM, the high-water mark of its memory since exec. (getrusage's
# ru_maxrss would do on its own, but Linux carries the maximum of the process that forked it
# across exec: under an xdist worker of 400+ MB every probe would report the worker's peak.)
PEAK_MB = textwrap.dedent(
    """
    def peak_mb():
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("VmHWM:"))
        return int(line.split()[1]) // 1024
    """
)
MEMORY_PROBE = PEAK_MB + textwrap.dedent(
    """
    import json, sys
    from bicep_assets.armlocal.engine import TemplateError, expand
    tpl = json.load(open(sys.argv[1]))
    try:
        expand(tpl).evaluate_outputs()
        print("expanded")
    except TemplateError as exc:
        print(exc.code)
    print(peak_mb())
    """
)


@pytest.mark.timeout(120)
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize(("tpl", "message"), [a[1:] for a in ATTACKS], ids=IDS)
def test_each_attack_stays_under_the_memory_ceiling(tpl: Any, message: str, tmp_path: Path) -> None:
    """Peak RSS of a fresh process evaluating the attack (the interpreter and the engine take
    about 50 MB; the largest attack peaks near 120 MB); 256 MB is the ceiling."""
    path = tmp_path / "attack.json"
    path.write_text(json.dumps(tpl))
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(path)],
        capture_output=True,
        text=True,
        timeout=110,
        check=True,
    )
    verdict, peak_mb = done.stdout.split()
    assert verdict == "InvalidTemplate"
    assert int(peak_mb) < 256, f"peak RSS {peak_mb} MB"


# -- bicep-assets expand ---------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_bicep_assets(list(args), cwd=Path.cwd(), env=dict(os.environ), timeout=120)


@pytest.mark.timeout(130)
def test_expand_answers_an_attack_with_the_arm_error_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "double.json"
    path.write_text(json.dumps(ATTACKS[0][1]))
    done = run_cli("expand", "-f", str(path))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    error = json.loads(done.stderr)["error"]
    assert error["code"] == "InvalidTemplate"
    assert ATTACKS[0][2] in error["message"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "is a folder, not a file"),
        (b"\x7fELF\x02\x01\x01\x00\xff\xfe", "is not UTF-8 text"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested more than 256 levels deep"),
        (b"{" + b" " * (4 * 1024 * 1024), "is larger than 4 MB"),
        (b'{"a": }', "is not valid JSON: unexpected '}' at line 1, column 7"),
    ],
    ids=["directory", "binary", "deep", "too-large", "not-json"],
)
def test_expand_refuses_a_bad_template_file_with_exit_2(
    content: bytes | None, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "t.json"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    done = run_cli("expand", "-f", str(path))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"error: template file '{path}'")
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_parameter_value_nested_too_deeply_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template()))
    done = run_cli("expand", "-f", str(path), "-p", "x=" + "[" * 5000 + "]" * 5000)
    assert done.returncode == 2
    assert "the value of parameter 'x': the JSON is nested more than" in done.stderr
    assert "Traceback" not in done.stderr


# -- the local ARM -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_arm() -> Iterator[LocalArm]:
    arm = LocalArm(config=LocalArmConfig(retry_after=0)).start()
    yield arm
    arm.stop()


@pytest.fixture
def group(local_arm: LocalArm) -> str:
    local_arm.connection.resource_client().resource_groups.create_or_update(
        "rg-bounds", {"location": "westeurope"}
    )
    return "rg-bounds"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("operation", ["deploy", "validate", "what-if"])
def test_the_local_arm_refuses_an_attack_through_the_sdk(
    local_arm: LocalArm, group: str, operation: str
) -> None:
    client = local_arm.connection.deployments_client()
    body = {"properties": {"mode": "Incremental", "template": ATTACKS[0][1]}}
    if operation == "what-if":  # what-if reports a refused template in its result
        result = client.deployments.begin_what_if(group, "attack", body).result()
        assert result.status == "Failed"
        text = json.dumps(result.as_dict())
    else:
        with pytest.raises(HttpResponseError) as info:
            if operation == "deploy":
                client.deployments.begin_create_or_update(group, "attack", body).result()
            else:
                client.deployments.begin_validate(group, "attack", body).result()
        text = json.dumps(info.value.response.json())
    assert "InvalidTemplate" in text
    assert "would produce a string of 8,388,608 characters" in text


def _post(arm: LocalArm, path: str, chunks: Iterator[bytes]) -> tuple[int, dict[str, Any]]:
    conn = arm.connection
    host, port = conn.base_url.removeprefix("https://").rstrip("/").split(":")
    context = ssl.create_default_context(cafile=conn.ca_file)
    client = http.client.HTTPSConnection(host, int(port), context=context, timeout=60)
    try:
        client.putrequest("PUT", path)
        client.putheader("Authorization", f"Bearer {conn.token}")
        client.putheader("Content-Type", "application/json")
        client.putheader("Transfer-Encoding", "chunked")
        client.endheaders()
        try:
            for chunk in chunks:
                client.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            client.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading everything: as intended
        response = client.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        client.close()


def test_a_chunked_body_over_four_megabytes_is_refused_while_streaming(
    local_arm: LocalArm, group: str
) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(64):  # 64 MB offered, in 1 MB chunks
            sent += 1
            yield b" " * (1024 * 1024)

    path = (
        f"/subscriptions/{local_arm.config.subscription_id}/resourcegroups/{group}/providers/"
        "Microsoft.Resources/deployments/big?api-version=2024-03-01"
    )
    status, body = _post(local_arm, path, chunks())
    assert status == 413
    assert body["error"]["code"] == "RequestContentTooLarge"


def test_a_request_nested_too_deeply_is_invalid_content(local_arm: LocalArm, group: str) -> None:
    path = (
        f"/subscriptions/{local_arm.config.subscription_id}/resourcegroups/{group}/providers/"
        "Microsoft.Resources/deployments/deep?api-version=2024-03-01"
    )
    status, body = _post(local_arm, path, iter([b'{"a":' * 100_000 + b"1" + b"}" * 100_000]))
    assert status == 400
    assert body["error"]["code"] == "InvalidRequestContent"
    assert "nested more than 256 levels deep" in body["error"]["message"]


# -- manifests ---------------------------------------------------------------------------------


LAUGHS = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [
        f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]"
        for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
    ]
)


def test_a_billion_laughs_manifest_is_refused_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "parameters").mkdir()
    (tmp_path / "parameters" / "lol.yaml").write_text(LAUGHS + "\n")
    with pytest.raises(ManifestError, match=r"parameters/lol.yaml: the manifest holds more than"):
        load_environments(tmp_path)


def test_an_oversized_manifest_is_refused(tmp_path: Path) -> None:
    (tmp_path / "parameters").mkdir()
    (tmp_path / "parameters" / "big.yaml").write_text("# " + "x" * (2 * 1024 * 1024) + "\n")
    with pytest.raises(ManifestError, match=r"parameters/big.yaml: the manifest is larger than"):
        load_environments(tmp_path)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_a_billion_laughs_manifest_stays_under_the_memory_ceiling(tmp_path: Path) -> None:
    (tmp_path / "parameters").mkdir()
    (tmp_path / "parameters" / "lol.yaml").write_text(LAUGHS + "\n")
    probe = PEAK_MB + (
        "import sys\n"
        "from bicep_assets.environments import load_environments\n"
        "try:\n    load_environments(__import__('pathlib').Path(sys.argv[1]))\n"
        "except ValueError:\n    pass\n"
        "print(peak_mb())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert int(done.stdout) < 256
