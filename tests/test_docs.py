"""The README and docs/ stay walkable: every relative link points at a file (and heading) of
the repository, nothing points outside it, and the audit page lists the tables' real columns."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bicep_assets.audit.schemas import TABLES

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)"
)
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def without_code(text: str) -> str:
    """Markdown with fenced blocks and code spans blanked (links there are not links)."""
    text = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return CODE_SPAN.sub("", text)


def links(text: str) -> list[str]:
    """The targets of the inline and reference links (and images) of a markdown text."""
    prose = without_code(text)
    return [*INLINE_LINK.findall(prose), *REFERENCE_LINK.findall(prose)]


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text, lower case, punctuation dropped, spaces
    as hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts as its text
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """The anchors of a markdown text's headings (repeated headings get -1, -2, …)."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for _, heading in HEADING.findall(FENCE.sub("", text)):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(doc: Path, repo: Path) -> list[str]:
    """Every relative link of ``doc`` that does not resolve to a file (or heading) inside
    ``repo``, with the reason."""
    problems: list[str] = []
    text = doc.read_text(encoding="utf-8")
    for target in links(text):
        if SCHEME.match(target):  # https://…, mailto:…: not a file of the repository
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (doc.parent / path_part).resolve() if path_part else doc
        if not resolved.is_relative_to(repo):
            problems.append(f"{target}: points outside the repository")
            continue
        if not resolved.exists():
            problems.append(f"{target}: {resolved.relative_to(repo)} does not exist")
            continue
        if (
            anchor
            and resolved.suffix == ".md"
            and anchor not in anchors(resolved.read_text(encoding="utf-8"))
        ):
            problems.append(f"{target}: no heading '{anchor}' in {resolved.name}")
    return problems


def test_the_docs_exist() -> None:
    names = {p.relative_to(REPO).as_posix() for p in DOCS}
    assert {
        "README.md",
        "docs/architecture.md",
        "docs/audit.md",
        "docs/local-arm.md",
        "docs/operations.md",
    } <= names


@pytest.mark.parametrize("doc", DOCS, ids=[p.relative_to(REPO).as_posix() for p in DOCS])
def test_every_relative_link_points_at_a_file_of_the_repository(doc: Path) -> None:
    assert broken_links(doc, REPO) == []


@pytest.mark.parametrize("doc", DOCS, ids=[p.relative_to(REPO).as_posix() for p in DOCS])
def test_no_doc_refers_outside_the_repository(doc: Path) -> None:
    # ../shared sits beside the original checkout only; a clone does not have it
    assert "../shared" not in doc.read_text(encoding="utf-8")


def test_the_readme_links_every_docs_page() -> None:
    targets = {t.partition("#")[0] for t in links((REPO / "README.md").read_text("utf-8"))}
    pages = {p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md")}
    assert pages <= targets


def test_the_link_check_finds_what_is_broken(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other page\n\n## A `code` heading\n")
    doc = tmp_path / "README.md"
    doc.write_text(
        "# Title\n\n"
        "[fine](docs/other.md) [fine too](docs/other.md#a-code-heading) [here](#title)\n"
        "[web](https://example.com/x) ![missing image](docs/images/none.png)\n"
        "[outside](../shared/DESIGN.md) [no anchor](docs/other.md#nothing)\n"
        "`[in code](nowhere.md)`\n\n"
        "```\n[in a block](nowhere.md)\n```\n\n"
        "[ref]: docs/gone.md\n",
        encoding="utf-8",
    )
    assert broken_links(doc, tmp_path) == [
        "docs/images/none.png: docs/images/none.png does not exist",
        "../shared/DESIGN.md: points outside the repository",
        "docs/other.md#nothing: no heading 'nothing' in other.md",
        "docs/gone.md: docs/gone.md does not exist",
    ]


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Environments: `parameters/<env>.yaml`", "environments-parametersenvyaml"),
        ("HTTPS, the CA and the token", "https-the-ca-and-the-token"),
        ("`deployment_runs`", "deployment_runs"),
        ("Facts about the SDK and ARM", "facts-about-the-sdk-and-arm"),
    ],
    ids=["code-and-punctuation", "commas", "underscores", "plain"],
)
def test_headings_get_githubs_anchors(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def documented_columns(page: str, table: str) -> list[str]:
    """The first column of the markdown table under the heading ``### `table` ``."""
    section = page.split(f"### `{table}`\n", 1)[1]
    found: list[str] = []
    for line in section.splitlines():
        if line.startswith("| `"):
            found.append(line.split("|")[1].strip().strip("`"))
        elif found:  # the table ended
            break
    return found


@pytest.mark.parametrize("table", list(TABLES))
def test_the_audit_page_lists_each_tables_columns(table: str) -> None:
    page = (REPO / "docs" / "audit.md").read_text(encoding="utf-8")
    assert documented_columns(page, table) == TABLES[table].column_names


def test_the_quickstart_commands_stay_as_they_are() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    deploy = (
        "python3 -m venv .venv && .venv/bin/pip install -q -e . && "
        "DEV_APP_SECRET=local-demo-secret .venv/bin/bicep-assets deploy dev"
    )
    tests = (
        "python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]' && "
        ".venv/bin/python -m pytest"
    )
    assert f"```bash\n{deploy}\n```" in readme
    assert f"```bash\n{tests}\n```" in readme
    assert tests in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_the_docs_images_stay_small() -> None:
    images = sorted((REPO / "docs" / "images").glob("*"))
    assert images, "docs/images/ holds the README's picture of the UI"
    assert {p.name: p.stat().st_size for p in images if p.stat().st_size >= 300_000} == {}
