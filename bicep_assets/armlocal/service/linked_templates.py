"""Linked templates and template specs, fetched as ARM fetches them.

A deployment (or a nested deployment) names its template with ``templateLink`` instead of
``template`` ("Using linked and nested templates when deploying Azure resources"):

- ``uri``: fetched over HTTP(S) from any reachable address, with ``queryString`` (a SAS
  token, say) appended; the answer must be a JSON template.
- ``relativePath``: a nested deployment's path relative to its parent's link — resolved
  against the parent's ``uri`` (the parent's ``queryString`` applies too), or, in a
  template spec, to one of the version's ``linkedTemplates``.
- ``id``: a template spec version (``Microsoft.Resources/templateSpecs/{name}/versions/{v}``)
  stored here; its ``mainTemplate`` is deployed.

``parametersLink.uri`` names a parameters file the same way. What cannot be fetched is ARM's
400 ``InvalidContentLink`` naming the address. Bodies are read up to ARM's 4 MB limit, for
at most 30 seconds.

A query string is a credential (a SAS token: ``sv=…&sig=…``): it is sent to the address and
nowhere else. Error messages name the address without it (``queryString``, or a query
written into ``uri``), the reason quoted from the network library is scrubbed of it, and the
links a deployment or a stack records (GET, lists, the state file) and ``deployment()``
answers leave ``queryString`` out and name the address without its query; only the running
deployment holds it, to fetch its ``relativePath`` links.
"""

from __future__ import annotations

import http.client
import posixpath
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

from ..engine import TemplateError
from ..engine.json_input import ArmJsonError, ArmJsonTooDeep, read_arm_json

MAX_BYTES = 4 * 1024 * 1024
TIMEOUT_S = 30.0
VERSION_TYPE = "microsoft.resources/templatespecs/versions"
# a query value this long is hidden from messages wherever it appears alone (a SAS ``sig`` is
# 43+ characters); shorter ones (``sp=r``) would hide ordinary words
SECRET_MIN = 8

Lookup = Callable[[str], "dict[str, Any] | None"]


def without_query(uri: str) -> str:
    """An address as errors may name it: no query string (a SAS token), no fragment."""
    return uri.split("?", 1)[0].split("#", 1)[0]


def _secrets_of(uri: str) -> list[str]:
    """The parts of ``uri``'s query string that must not be quoted: the whole query, and each
    value long enough to be a secret (``sig``'s), as written and percent-decoded; longest
    first."""
    query = uri.split("?", 1)[1].split("#", 1)[0] if "?" in uri else ""
    if not query:
        return []
    values = {v for _, v in parse_qsl(query, keep_blank_values=True)}
    values |= {p.split("=", 1)[-1] for p in query.split("&")}
    parts = {query} | {v for v in values if len(v) >= SECRET_MIN}
    return sorted(parts, key=len, reverse=True)


def _scrubbed(text: str, uri: str) -> str:
    for secret in _secrets_of(uri):
        text = text.replace(secret, "[query string]")
    return text


def _link_error(where: str, why: str) -> TemplateError:
    """ARM's ``InvalidContentLink`` naming ``where`` — never its query string."""
    return TemplateError(
        f"Unable to download deployment content from '{_scrubbed(without_query(where), where)}': "
        f"{_scrubbed(why, where)}. Please see https://aka.ms/arm-deploy for usage details.",
        code="InvalidContentLink",
    )


def with_query(uri: str, query: str | None) -> str:
    """``uri`` with ``queryString`` appended, as ARM appends it."""
    if not query:
        return uri
    query = query.lstrip("?")
    return f"{uri}{'&' if '?' in uri else '?'}{query}"


def fetch_json(uri: str) -> Any:
    """The JSON document at an http(s) ``uri`` (its query string included), or
    ``InvalidContentLink`` naming it without its query string."""
    scheme = urlsplit(uri).scheme.lower()
    if scheme not in ("http", "https"):
        raise _link_error(uri, "the address must be an http or https URI")
    try:
        with urllib.request.urlopen(uri, timeout=TIMEOUT_S) as answer:
            data = answer.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise _link_error(uri, f"the server answered {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        # (http.client.InvalidURL, an address with a space, quotes the whole URL: scrubbed)
        reason = getattr(exc, "reason", exc)
        raise _link_error(uri, f"it could not be reached ({reason})") from None
    if len(data) > MAX_BYTES:
        raise _link_error(uri, f"the content is larger than {MAX_BYTES} bytes")
    try:
        return read_arm_json(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ArmJsonError, ArmJsonTooDeep) as exc:
        raise _link_error(uri, f"the content is not valid JSON ({exc})") from None


class LinkLoader:
    """Resolves ``templateLink``s against the web and the template specs in ``lookup``."""

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup

    def __call__(
        self, link: dict[str, Any], parent: dict[str, Any] | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(template, the link as the deployment reports it) for ``link`` under ``parent``
        (the parent deployment's resolved link, or None at the top)."""
        if not isinstance(link, dict):
            raise _link_error("templateLink", "'templateLink' must be an object")
        if link.get("id"):
            return self._spec_version(str(link["id"]), link), _shown(link)
        relative = link.get("relativePath")
        if relative and not link.get("uri"):
            return self._relative(str(relative), link, parent or {})
        uri = link.get("uri")
        if not isinstance(uri, str) or not uri:
            raise _link_error("templateLink", "the link needs a 'uri', an 'id' or a 'relativePath'")
        template = fetch_json(with_query(uri, link.get("queryString")))
        return _template(template, uri), _shown(link)

    def parameters(self, link: dict[str, Any]) -> dict[str, Any]:
        """The ``parameters`` of the parameters file a ``parametersLink`` names."""
        uri = link.get("uri") if isinstance(link, dict) else None
        if not isinstance(uri, str) or not uri:
            raise _link_error("parametersLink", "'parametersLink' needs a 'uri'")
        document = fetch_json(uri)
        values = document.get("parameters") if isinstance(document, dict) else None
        if not isinstance(values, dict):
            raise _link_error(uri, "the content is not a parameters file (no 'parameters')")
        return values

    def _relative(
        self, relative: str, link: dict[str, Any], parent: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        if parent.get("id"):  # inside a template spec: one of the version's linked templates
            version = self._version(str(parent["id"]))
            base = posixpath.dirname(str(parent.get("relativePath") or ""))
            wanted = posixpath.normpath(posixpath.join(base, relative)).lower()
            for entry in version.get("linkedTemplates") or []:
                path = posixpath.normpath(str(entry.get("path", "")).replace("\\", "/")).lower()
                if path == wanted and isinstance(entry.get("template"), dict):
                    shown = {"id": parent["id"], "relativePath": wanted}
                    return entry["template"], shown
            raise _link_error(relative, f"the template spec has no linked template '{wanted}'")
        base_uri = parent.get("uri")
        if not isinstance(base_uri, str) or not base_uri:
            raise _link_error(
                relative, "a relativePath needs a parent deployed from a link (uri or id)"
            )
        uri = urljoin(base_uri.split("?")[0], relative)
        query = link.get("queryString") or parent.get("queryString")
        template = fetch_json(with_query(uri, query))
        shown = {"uri": uri, **({"queryString": query} if query else {})}
        return _template(template, uri), shown

    def _version(self, version_id: str) -> dict[str, Any]:
        stored = self.lookup(version_id)
        if stored is None or str(stored.get("type", "")).lower() != VERSION_TYPE:
            raise TemplateError(
                f"The template spec version '{version_id}' could not be found.",
                code="TemplateSpecVersionNotFound",
            )
        return dict(stored.get("properties") or {})

    def _spec_version(self, version_id: str, link: dict[str, Any]) -> dict[str, Any]:
        main = self._version(version_id).get("mainTemplate")
        return _template(main, version_id)


def _template(template: Any, where: str) -> dict[str, Any]:
    if not isinstance(template, dict):
        raise _link_error(where, "the content is not a template (a JSON object)")
    return template


def _shown(link: dict[str, Any]) -> dict[str, Any]:
    return {k: link[k] for k in ("uri", "id", "relativePath", "queryString", "contentVersion")
            if link.get(k)}  # fmt: skip


def recorded_link(link: Any, template: Any = None) -> Any:
    """A ``templateLink`` as a deployment's record keeps and answers it — Azure's examples
    (``PutDeploymentWithOnErrorDeploymentLastSuccessful``: ``uri`` and the template's
    ``contentVersion``; ``PutDeploymentResourceGroup``: a link sent with ``queryString``
    answered without it): no ``queryString`` (a SAS token), and a ``uri`` without the query
    or fragment a SAS may have been written into; ``contentVersion`` as the link gave it, else
    the ``template``'s."""
    if not isinstance(link, dict):
        return link
    recorded = {k: v for k, v in link.items() if k != "queryString"}
    if isinstance(recorded.get("uri"), str):
        recorded["uri"] = without_query(recorded["uri"])
    version = template.get("contentVersion") if isinstance(template, dict) else None
    if not recorded.get("contentVersion") and isinstance(version, str) and version:
        recorded["contentVersion"] = version
    return recorded


def recorded_parameters_link(link: Any) -> Any:
    """A ``parametersLink`` as a record keeps and answers it: its ``uri`` without the query a
    SAS token may have been written into, and its ``contentVersion``."""
    if not isinstance(link, dict):
        return link
    recorded = {k: v for k, v in link.items() if k in ("uri", "contentVersion")}
    if isinstance(recorded.get("uri"), str):
        recorded["uri"] = without_query(recorded["uri"])
    return recorded
