"""Who may call the local ARM, and the routes a client needs before it deploys anything.

Azure Resource Manager trusts bearer tokens issued by Microsoft Entra ID; a client such as the
Azure CLI first discovers the cloud's endpoints (``GET /metadata/endpoints``, no token), gets a
token (here: the App Service managed-identity protocol, which the emulator serves itself), then
lists the subscriptions and tenants the token opens. This module holds those pieces:

- :class:`TokenAuthority` issues JWT-shaped tokens (``header.payload.signature``, HMAC-SHA256
  with a key derived from the server's token, claims ``aud``, ``iss``, ``iat``, ``nbf``,
  ``exp``, ``tid``, ``oid``, ``sub``, ``appid``, ``idtyp``) and checks the ``Authorization``
  header of every ARM request: the configured static token, or a token it issued that has not
  expired and names a Resource Manager audience. Failures are ARM's 401s: ``AuthenticationFailed``
  (no header, not a bearer header), ``InvalidAuthenticationToken`` (not a JWT, not signed
  here), ``ExpiredAuthenticationToken``, ``InvalidAuthenticationTokenAudience``, each with a
  ``WWW-Authenticate: Bearer`` challenge.
- the unauthenticated routes Azure leaves open: the metadata endpoints, and the token
  endpoint, which needs its own ``X-IDENTITY-HEADER`` secret instead.
- the subscription routes of Microsoft.Resources: ``GET /subscriptions``,
  ``/subscriptions/{id}``, ``/subscriptions/{id}/locations`` and ``GET /tenants``.

Shapes follow Microsoft's REST reference ("Subscriptions - List", "Subscriptions - List
Locations", "Tenants - List", "Get metadata endpoints") and the App Service managed-identity
REST protocol ("How to use managed identities for App Service and Azure Functions": REST
endpoint reference).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from ..engine.functions.deployment import TENANT_COUNTRY_CODE, TENANT_DISPLAY_NAME
from ..service.backend import ArmBackend
from ..service.behaviors import regions
from ..service.errors import ArmHttpError
from ..service.principals import principal_id
from ..service.tags import read_tags
from .rest import API_VERSION, Router, json_response

TOKEN_PATH = "/msi/token"
METADATA_PATH = "/metadata/endpoints"
TOKEN_LIFETIME_S = 24 * 3600  # managed-identity tokens of Azure last about a day
# the audiences ARM accepts (InvalidAuthenticationTokenAudience lists the same four)
ARM_AUDIENCES = (
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "https://management.azure.com/",
    "https://management.azure.com",
)
CLOUD_NAME = "LocalArm"
_CLOCK_SKEW_S = 300


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _dotnet_time(epoch: float) -> str:
    """A UTC time as ARM's messages print it: ``3/19/2023 8:55:46 AM``."""
    moment = datetime.fromtimestamp(epoch, UTC)
    hour = moment.hour % 12 or 12
    half = "AM" if moment.hour < 12 else "PM"
    return (
        f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment.minute:02d}:"
        f"{moment.second:02d} {half}"
    )


class TokenAuthority:
    """Issues the emulator's tokens and authenticates requests (see the module docs)."""

    def __init__(self, backend: ArmBackend) -> None:
        self.backend = backend

    @property
    def _key(self) -> bytes:
        # derived from the server's token: the same --token gives the same key after a restart
        secret = self.backend.config.token.encode("utf-8")
        return hmac.new(secret, b"bicep-assets local ARM token signing", hashlib.sha256).digest()

    def principal_id(self, client_id: str | None = None) -> str:
        return principal_id(self.backend.config.tenant_id, client_id)

    def issue(
        self,
        resource: str,
        *,
        client_id: str | None = None,
        now: float | None = None,
        lifetime_s: int = TOKEN_LIFETIME_S,
    ) -> dict[str, Any]:
        """A token for ``resource`` in the App Service managed-identity answer's shape."""
        issued = int(time.time() if now is None else now)
        tenant = self.backend.config.tenant_id
        oid = self.principal_id(client_id)
        app_id = client_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"localarm-app:{oid}"))
        claims = {
            "aud": resource,
            "iss": f"https://sts.windows.net/{tenant}/",
            "iat": issued,
            "nbf": issued,
            "exp": issued + lifetime_s,
            "appid": app_id,
            "appidacr": "2",
            "idtyp": "app",
            "oid": oid,
            "sub": oid,
            "tid": tenant,
            "ver": "1.0",
        }
        header = {"typ": "JWT", "alg": "HS256"}
        signing_input = (
            _b64(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = hmac.new(self._key, signing_input.encode("ascii"), hashlib.sha256).digest()
        return {
            "access_token": f"{signing_input}.{_b64(signature)}",
            "expires_on": str(issued + lifetime_s),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": app_id,
        }

    # -- authentication ---------------------------------------------------------------------
    def authenticate(self, request: Request) -> str:
        """Accept the request's bearer token or raise ARM's 401 for it; the caller's
        principal (the token's ``oid``; the system identity's for the static token)."""
        header = request.headers.get("Authorization")
        if not header:
            raise _unauthorized(
                request,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
                "The authentication failed because of missing 'Authorization' header.",
            )
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer":
            raise _unauthorized(
                request,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is provided in an invalid "
                "format.",
                f"The authentication scheme '{scheme}' is not supported.",
            )
        # constant time: how much of a guess matches must not show in the response time
        expected = self.backend.config.token.encode("utf-8")
        if hmac.compare_digest(token.encode("utf-8", "replace"), expected):
            return self.principal_id(None)
        claims = self._verified_claims(token)
        if claims is None:
            raise _unauthorized(
                request,
                "InvalidAuthenticationToken",
                "The access token is invalid.",
                "The access token is invalid.",
            )
        now = time.time()
        expires = claims.get("exp")
        if not isinstance(expires, int | float) or expires <= now:
            when = _dotnet_time(expires) if isinstance(expires, int | float) else "(none)"
            raise _unauthorized(
                request,
                "ExpiredAuthenticationToken",
                f"The access token expiry UTC time '{when}' is earlier than current UTC time "
                f"'{_dotnet_time(now)}'.",
                "The access token has expired.",
            )
        not_before = claims.get("nbf")
        if isinstance(not_before, int | float) and not_before > now + _CLOCK_SKEW_S:
            raise _unauthorized(
                request,
                "InvalidAuthenticationToken",
                "The access token is not yet valid.",
                "The access token is invalid.",
            )
        audience = claims.get("aud")
        if audience not in ARM_AUDIENCES:
            allowed = ",".join(f"'{a}'" for a in ARM_AUDIENCES)
            raise _unauthorized(
                request,
                "InvalidAuthenticationTokenAudience",
                f"The access token has been obtained for wrong audience or resource "
                f"'{audience}'. It should exactly match with one of the allowed audiences "
                f"{allowed}.",
                "The access token is invalid.",
            )
        oid = claims.get("oid")
        return oid if isinstance(oid, str) and oid else self.principal_id(None)

    def _verified_claims(self, token: str) -> dict[str, Any] | None:
        """The claims of a JWT this authority signed, or None (not a JWT, not ours)."""
        parts = token.split(".")
        if len(parts) != 3 or len(token) > 16_384:
            return None
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii", "replace")
        expected = hmac.new(self._key, signing_input, hashlib.sha256).digest()
        try:
            signature = _unb64(parts[2])
            header = json.loads(_unb64(parts[0]))
            claims = json.loads(_unb64(parts[1]))
        except (ValueError, UnicodeDecodeError):
            return None
        if not hmac.compare_digest(signature, expected):
            return None
        if not isinstance(header, dict) or header.get("alg") != "HS256":
            return None
        return claims if isinstance(claims, dict) else None

    # -- the token endpoint (App Service managed identity) ----------------------------------
    def token_endpoint(self, request: Request) -> Response:
        """``GET /msi/token?resource=…&api-version=2019-08-01`` with ``X-IDENTITY-HEADER``."""
        secret = request.headers.get("X-IDENTITY-HEADER", "")
        if request.method != "GET":
            return _identity_error(405, f"The method '{request.method}' is not allowed.")
        if not hmac.compare_digest(
            secret.encode("utf-8", "replace"), self.backend.config.token.encode("utf-8")
        ):
            return _identity_error(
                401,
                "The 'X-IDENTITY-HEADER' header is missing or does not match this identity "
                "endpoint's IDENTITY_HEADER.",
            )
        version = request.args.get("api-version")
        if version != "2019-08-01":
            return _identity_error(
                400, f"The api-version '{version}' is not supported: use 2019-08-01."
            )
        resource = request.args.get("resource", "").strip()
        if not resource:
            return _identity_error(400, "The 'resource' query parameter is required.")
        client_id = request.args.get("client_id") or None
        return json_response(self.issue(resource, client_id=client_id))


def _unauthorized(request: Request, code: str, message: str, description: str) -> ArmHttpError:
    authority = request.host_url.rstrip("/") + "/"
    challenge = (
        f'Bearer authorization_uri="{authority}", error="invalid_token", '
        f'error_description="{description}"'
    )
    return ArmHttpError(401, code, message, headers={"WWW-Authenticate": challenge})


def _identity_error(status: int, message: str) -> Response:
    # the managed-identity endpoint answers {statusCode, message}, not ARM's error shape
    return json_response({"statusCode": status, "message": message}, status)


# -- metadata endpoints ---------------------------------------------------------------------
def metadata_endpoints(request: Request) -> Response:
    """``GET /metadata/endpoints``: the cloud's endpoints, in the format the api-version asks
    for — before 2019-05-01 the original flat object, from 2019-05-01 a list of clouds, from
    2022-09-01 the one cloud this endpoint belongs to."""
    version = request.args.get("api-version")
    if not version:
        raise ArmHttpError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    if not API_VERSION.match(version):
        raise ArmHttpError(
            400,
            "InvalidApiVersionParameter",
            f"The api-version '{version}' is invalid. The supported versions are "
            "'2022-09-01,2020-06-01,2019-05-01,2015-01-01'.",
        )
    base = request.host_url.rstrip("/") + "/"
    if version < "2019-05-01":
        return json_response(
            {
                "galleryEndpoint": base,
                "graphEndpoint": base,
                "portalEndpoint": base,
                "authentication": {
                    "loginEndpoint": base,
                    "audiences": [ARM_AUDIENCES[0], ARM_AUDIENCES[2]],
                },
            }
        )
    cloud = cloud_metadata(base)
    return json_response(cloud if version >= "2022-09-01" else [cloud])


def cloud_metadata(base: str) -> dict[str, Any]:
    """The emulator as a cloud, in the shape of Azure's metadata (2019-05-01 and later)."""
    return {
        "name": CLOUD_NAME,
        "portal": base,
        "resourceManager": base,
        "authentication": {
            "loginEndpoint": base,
            "audiences": [ARM_AUDIENCES[0], ARM_AUDIENCES[2]],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "gallery": base,
        "graph": base,
        "graphAudience": base,
        "microsoftGraphResourceId": base,
        "activeDirectoryDataLake": base,
        "batch": base,
        "media": base,
        "sqlManagement": base,
        "vmImageAliasDoc": base + "metadata/vmImageAliasDoc",
        "suffixes": {
            "acrLoginServer": "azurecr.io",
            "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
            "azureDataLakeStoreFileSystem": "azuredatalakestore.net",
            "keyVaultDns": "vault.azure.net",
            "sqlServerHostname": "database.windows.net",
            "storage": "core.windows.net",
        },
    }


# -- subscriptions and tenants --------------------------------------------------------------
SUBSCRIPTION_NAME = "Local ARM subscription"


def subscription_body(backend: ArmBackend, subscription_id: str) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{subscription_id}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": subscription_id,
        "tenantId": backend.config.tenant_id,
        "displayName": SUBSCRIPTION_NAME,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
        # the subscription's own tags (the Tags API's ``…/providers/Microsoft.Resources/tags``)
        "tags": read_tags(backend.store, f"/subscriptions/{subscription_id}") or {},
    }


def _known_subscription(backend: ArmBackend, sub: str) -> str:
    """The configured subscription's id as the emulator spells it; ARM's
    InvalidSubscriptionId for a subscription id that is not a GUID, SubscriptionNotFound for
    any other (the one subscription the emulator's tokens see)."""
    try:
        uuid.UUID(sub)
    except ValueError:
        raise ArmHttpError(
            400,
            "InvalidSubscriptionId",
            f"The provided subscription identifier '{sub}' is malformed or invalid.",
        ) from None
    if sub.lower() != backend.config.subscription_id.lower():
        raise ArmHttpError(
            404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found."
        )
    return backend.config.subscription_id


def list_subscriptions(backend: ArmBackend, request: Request) -> Response:
    body = subscription_body(backend, backend.config.subscription_id)
    return json_response({"value": [body], "count": {"type": "Total", "value": 1}})


def get_subscription(backend: ArmBackend, request: Request, sub: str) -> Response:
    return json_response(subscription_body(backend, _known_subscription(backend, sub)))


def list_locations(backend: ArmBackend, request: Request, sub: str) -> Response:
    sub = _known_subscription(backend, sub)
    value = []
    for name in regions.region_names():
        display, pair = regions.display_name(name), regions.paired_region(name)
        metadata: dict[str, Any] = {"regionType": "Physical", "regionCategory": "Recommended"}
        if pair is not None:
            metadata["pairedRegion"] = [
                {"name": pair, "id": f"/subscriptions/{sub}/locations/{pair}"}
            ]
        value.append(
            {
                "id": f"/subscriptions/{sub}/locations/{name}",
                "name": name,
                "type": "Region",
                "displayName": display,
                "regionalDisplayName": display,
                "metadata": metadata,
            }
        )
    return json_response({"value": value})


def list_tenants(backend: ArmBackend, request: Request) -> Response:
    tenant = backend.config.tenant_id
    body = {
        "id": f"/tenants/{tenant}",
        "tenantId": tenant,
        "tenantCategory": "Home",
        # the tenant templates' tenant() answers (GetTenants.json lists countryCode too)
        "countryCode": TENANT_COUNTRY_CODE,
        "displayName": TENANT_DISPLAY_NAME,
        "defaultDomain": "localarm.onmicrosoft.com",
        "domains": ["localarm.onmicrosoft.com"],
        "tenantType": "AAD",
    }
    return json_response({"value": [body]})


def add_account_routes(router: Router) -> None:
    """The subscription and tenant routes (Microsoft.Resources' Subscriptions/Tenants)."""
    router.add("GET", r"/subscriptions", list_subscriptions, "Subscriptions_List")
    router.add(
        "GET",
        r"/subscriptions/(?P<sub>[^/]+)/locations",
        list_locations,
        "Subscriptions_ListLocations",
    )
    router.add("GET", r"/subscriptions/(?P<sub>[^/]+)", get_subscription, "Subscriptions_Get")
    router.add("GET", r"/tenants", list_tenants, "Tenants_List")
