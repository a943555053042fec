"""Template and parameter files are read as ARM reads JSON (Newtonsoft.Json): comments,
unquoted property names, single-quoted strings, trailing commas and line breaks inside
strings — Microsoft documents templates with comments and multi-line strings ("Understand
the structure and syntax of ARM templates"). Text that is still not JSON names line and
column; nesting stays bounded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bicep_assets.armlocal.engine import (
    DeploymentContext,
    JsonInputError,
    ResourceGroup,
    expand,
    parse_json,
    read_json_file,
)
from bicep_assets.cli import main

COMMENTED = """{
  // Microsoft's documented comment forms
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0", /* inline */
  parameters: {'prefix': {"type": "string", "defaultValue": "st",},},
  "resources": [
    {
      "type": "Microsoft.Storage/storageAccounts",
      "apiVersion": "2023-01-01",
      "name": "[concat(parameters('prefix'),
                      'commented')]",
      "location": "westeurope",
      "sku": {"name": "Standard_LRS"},
      "kind": "StorageV2"
    },
  ]
}
"""


def test_a_template_with_comments_loads_and_expands(tmp_path: Path) -> None:
    path = tmp_path / "main.json"
    path.write_text(COMMENTED, encoding="utf-8")
    template = read_json_file(path, "template file")
    assert template["parameters"] == {"prefix": {"type": "string", "defaultValue": "st"}}
    expansion = expand(
        template, {}, DeploymentContext(resource_group=ResourceGroup("rg", "westeurope"))
    )
    assert [r.name for r in expansion.resources] == ["stcommented"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1 "b": 2}', "expected ',' or '}', found '\"' at line 1, column 9"),
        ('{"a": [1, 2}', "expected ',' or ']', found '}' at line 1, column 12"),
        ("{\n  /* open", "a comment is not terminated at line 2, column 3"),
        (
            '{"a": 1} {"b": 2}',
            "additional text after the end of the JSON value at line 1, column 10",
        ),
        ("", "the text is empty"),
    ],
    ids=["missing-comma", "bracket", "open-comment", "two-values", "empty"],
)
def test_text_that_is_not_json_names_line_and_column(text: str, message: str) -> None:
    with pytest.raises(JsonInputError) as info:
        parse_json(text, "template file 'x.json'")
    assert str(info.value) == f"template file 'x.json' is not valid JSON: {message}"


def test_deep_nesting_stays_bounded_in_the_lenient_reader() -> None:
    text = "// lenient\n" + "[" * 300 + "]" * 300
    with pytest.raises(JsonInputError, match="nested more than 256 levels deep"):
        parse_json(text, "t")


def test_bicep_assets_expand_reads_a_commented_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "main.json"
    path.write_text(COMMENTED, encoding="utf-8")
    code = main(["expand", "-f", str(path), "-g", "rg", "-l", "westeurope", "-o", "json"])
    assert code == 0
    expanded = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in expanded["resources"]] == ["stcommented"]
