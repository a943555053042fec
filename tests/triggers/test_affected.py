"""Which files make an environment: Bicep references, ARM linked templates, manifests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bicep_assets.triggers.affected import (
    affected_environments,
    arm_references,
    bicep_references,
    environment_files,
    index_by_path,
    join_path,
    template_files,
)

BICEP = [
    ("module", "module web './modules/web.bicep' = {\n  name: 'web'\n}\n", ["./modules/web.bicep"]),
    ("module-loop", "module m 'm.bicep' = [for i in range(0, 2): {}]", ["m.bicep"]),
    ("import-braces", "import {a, b as c} from 'types.bicep'\n", ["types.bicep"]),
    ("import-multiline", "import {\n  a\n  b\n} from '../shared/t.bicep'", ["../shared/t.bicep"]),
    ("import-wildcard", "import * as types from 'types.bicep'", ["types.bicep"]),
    ("extension-import-is-no-file", "import 'az@1.0.0'\nextension microsoftGraph", []),
    ("using", "using './main.bicep'\nparam name = 'x'\n", ["./main.bicep"]),
    ("extends", "using none\nextends 'base.bicepparam'\n", ["base.bicepparam"]),
    (
        "load-functions",
        "var a = loadTextContent('a.sh')\nvar b = sys.loadJsonContent('b.json', '$.x')\n"
        "var c = loadYamlContent('c.yaml')\nvar d = loadFileAsBase64('d.bin')\n",
        ["a.sh", "b.json", "c.yaml", "d.bin"],
    ),
    (
        "comments-are-ignored",
        "// module a 'line.bicep' = {}\n/* module b 'block.bicep' = {}\n*/\nparam x string",
        [],
    ),
    (
        "strings-are-not-code",
        "var s = 'module a \\'quoted.bicep\\''\nvar m = '''\nmodule b 'multi.bicep' = {}\n'''\n",
        [],
    ),
    ("escaped-quote-in-path", "module a 'it\\'s.bicep' = {}", ["it's.bicep"]),
    ("interpolated-path-cannot-be-followed", "var t = loadTextContent('${name}.txt')", []),
    ("module-as-a-property-name", "var o = {\n  module: 'x.bicep'\n}\n", []),
    (
        "registry-and-template-spec-modules-are-listed-as-written",
        "module a 'br/public:avm/res/storage:0.9.0' = {}\nmodule b 'ts:sub/rg/spec:1' = {}",
        ["br/public:avm/res/storage:0.9.0", "ts:sub/rg/spec:1"],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in BICEP], ids=[c[0] for c in BICEP])
def test_bicep_references(text: str, expected: list[str]) -> None:
    assert bicep_references(text) == expected


JOINS = [
    ("sibling", "infra/main.bicep", "./web.bicep", "infra/web.bicep"),
    ("parent", "infra/mods/a.bicep", "../types.bicep", "infra/types.bicep"),
    ("backslashes", "infra/main.bicep", "mods\\web.bicep", "infra/mods/web.bicep"),
    ("outside-the-repository", "infra/main.bicep", "../../x.bicep", None),
    ("absolute", "infra/main.bicep", "/etc/x.bicep", None),
    ("registry", "infra/main.bicep", "br:contoso.azurecr.io/web:1", None),
    ("registry-alias", "infra/main.bicep", "br/public:avm/res/web:1", None),
    ("template-spec", "infra/main.bicep", "ts/corp:web:1", None),
    ("url", "infra/main.json", "https://example.com/t.json", None),
]


@pytest.mark.parametrize(
    ("base", "relative", "expected"), [j[1:] for j in JOINS], ids=[j[0] for j in JOINS]
)
def test_join_path(base: str, relative: str, expected: str | None) -> None:
    assert join_path(base, relative) == expected


def nested(link: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Microsoft.Resources/deployments",
        "name": "n",
        "properties": {"mode": "Incremental", "templateLink": link},
    }


def test_arm_references_finds_relative_paths_at_any_depth() -> None:
    inner = {"resources": [nested({"relativePath": "deep/inner.json"})]}
    template = {
        "resources": [
            nested({"relativePath": "nested/storage.json"}),
            nested({"uri": "https://example.com/remote.json"}),
            nested({"relativePath": "[concat('x', '.json')]"}),
            {
                "type": "Microsoft.Resources/deployments",
                "name": "inline",
                "properties": {"template": inner},
            },
        ]
    }
    assert sorted(arm_references(template)) == ["deep/inner.json", "nested/storage.json"]


def reader(files: dict[str, str]) -> Any:
    return lambda path: files[path].encode() if path in files else None


def test_template_files_follow_every_kind_of_reference_recursively() -> None:
    files = {
        "infra/main.bicep": "module a './a.bicep' = {}\nmodule j 'arm/linked.json' = {}\n",
        "infra/a.bicep": "import * as t from 'types.bicep'\nmodule back 'main.bicep' = {}\n",
        "infra/types.bicep": "var s = loadTextContent('../files/s.sh')\n",
        "infra/arm/linked.json": json.dumps(
            {"resources": [nested({"relativePath": "../nested/n.json"})]}
        ),
        "infra/nested/n.json": "{not json",
    }
    assert template_files(reader(files), "infra/main.bicep") == {
        "infra/main.bicep",
        "infra/a.bicep",
        "infra/types.bicep",
        "files/s.sh",  # does not exist: creating it would be a change
        "infra/arm/linked.json",
        "infra/nested/n.json",
    }


def test_environment_files_from_the_manifest() -> None:
    files = {
        "deploy/parameters/dev.yaml": "template: ../infra/main.bicep\n"
        "parameters_file: dev.bicepparam\nscope: {resource_group: rg, location: x}\n",
        "deploy/parameters/dev.bicepparam": "using '../infra/main.bicep'\n"
        "param s = loadTextContent('../files/secret-free.txt')\n",
        "deploy/infra/main.bicep": "module w 'web.bicep' = {}\n",
    }
    result = environment_files(reader(files), "dev", "deploy/parameters/dev.yaml")
    assert result.problem is None
    assert result.paths == {
        "deploy/parameters/dev.yaml",
        "deploy/parameters/dev.bicepparam",
        "deploy/infra/main.bicep",
        "deploy/infra/web.bicep",
        "deploy/files/secret-free.txt",
    }


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "parameters/dev.yaml does not exist"),
        ("template: [unclosed\n", "parameters/dev.yaml: while parsing"),
        ("- a list\n", "parameters/dev.yaml: not a mapping"),
    ],
    ids=["missing", "bad-yaml", "not-a-mapping"],
)
def test_an_unreadable_manifest_is_still_its_own_file(content: str | None, problem: str) -> None:
    files = {} if content is None else {"parameters/dev.yaml": content}
    result = environment_files(reader(files), "dev", "parameters/dev.yaml")
    assert result.paths == {"parameters/dev.yaml"}
    assert result.problem is not None and result.problem.startswith(problem)


def test_affected_environments_through_the_index() -> None:
    read = reader(
        {
            "parameters/dev.yaml": "template: ../infra/main.bicep\n",
            "parameters/prod.yaml": "template: ../infra/prod.bicep\n",
            "infra/main.bicep": "module s 'shared.bicep' = {}\n",
            "infra/prod.bicep": "module s 'shared.bicep' = {}\n",
        }
    )
    index = index_by_path(
        [
            environment_files(read, "dev", "parameters/dev.yaml"),
            environment_files(read, "prod", "parameters/prod.yaml"),
        ]
    )
    assert affected_environments(["infra/shared.bicep"], index) == {"dev", "prod"}
    assert affected_environments(["infra/main.bicep", "README.md"], index) == {"dev"}
    assert affected_environments(["README.md"], index) == set()
