"""What ARM's error codes and messages say about retrying: the tables ``classification.py`` reads.

Codes come from Microsoft's "Troubleshoot common Azure deployment errors" and the codes the
local ARM produces; keys are lowercase (ARM codes are compared case-insensitively). Each value
is the phrase a person reads in the failure's reason. A code in neither table (``BadRequest``,
``DeploymentFailed``, ``ResourceDeploymentFailure``) decides nothing: its details, its message
or the HTTP status do.
"""

from __future__ import annotations

import re


def _table(groups: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {code.lower(): why for why, codes in groups.items() for code in codes}


ENVIRONMENTAL_CODES: dict[str, str] = _table(
    {
        "ARM or a resource provider is throttling requests": (
            "TooManyRequests",
            "Throttled",
            "RequestThrottled",
            "SubscriptionRequestsThrottled",
            "TenantRequestsThrottled",
        ),
        "a transient server-side error": (
            "InternalServerError",
            "InternalError",
            "ServiceUnavailable",
            "ServerBusy",
            "BadGateway",
            "RetryableError",
        ),
        "the operation timed out": (
            "GatewayTimeout",
            "RequestTimeout",
            "ServerTimeout",
            "OperationTimedOut",
            "OperationTimeout",
            "Timeout",
        ),
        "another operation holds the resource and will finish on its own": (
            "AnotherOperationInProgress",
            "DeploymentActive",
            "DeploymentActiveAndUneditable",
            "DeploymentStackInNonTerminalState",
            "ResourceGroupBeingDeleted",
        ),
        "the deployment was interrupted (the ARM service stopped while it ran)": (
            "DeploymentInterrupted",
        ),
        "quota or capacity in the subscription or region is exhausted": (
            "ResourceQuotaExceeded",
            "QuotaExceeded",
            "DeploymentQuotaExceeded",
            "PublicIPCountLimitReached",
            "SkuNotAvailable",
            "AllocationFailed",
            "ZonalAllocationFailed",
            "OverconstrainedAllocationRequest",
            "OverconstrainedZonalAllocationRequest",
            "RegionDoesNotAllowProvisioning",
        ),
        "Azure has not yet propagated a new principal or registration": (
            "PrincipalNotFound",
            "SubscriptionNotRegistered",
        ),
    }
)

LOGIC_CODES: dict[str, str] = _table(
    {
        "the template or its parameters are invalid": (
            "InvalidTemplate",
            "InvalidTemplateDeployment",
            "InvalidTemplateCircularDependency",
            "TemplateResourceCircularDependency",
            "InvalidParameter",
            "MissingParameter",
            "MissingRequiredParameter",
            "InvalidRequestContent",
            "InvalidRequestFormat",
            "InvalidRequestUri",
            "InvalidContentLink",
            "InvalidDeploymentLocation",
            "InvalidResourceReference",
            "LinkedInvalidPropertyId",
            "MismatchingResourceSegments",
            "LocationRequired",
            "InvalidResourceLocation",
            "InvalidResourceNamespace",
            "InvalidResourceType",
            "MissingApiVersionParameter",
            "InvalidApiVersionParameter",
            "JobSizeExceeded",
            "DeploymentJobSizeExceeded",
            "TooManyTargetResourceGroups",
            "PropertyChangeNotAllowed",
            "AccountPropertyCannotBeSet",
            "PasswordTooLong",
            "PrivateIPAddressInReservedRange",
            "PrivateIPAddressNotInSubnet",
            "SubnetsNotInSameVnet",
            "InUseSubnetCannotBeDeleted",
            "ImageNotFound",
            "InaccessibleImage",
        ),
        "a policy or a missing permission forbids the request": (
            "RequestDisallowedByPolicy",
            "AuthorizationFailed",
            "DenyAssignmentAuthorizationFailed",
            "LinkedAuthorizationFailed",
            "DeploymentFailedCleanUp",
        ),
        "the credential is missing or not valid for this tenant": (
            "AuthenticationFailed",
            "InvalidAuthenticationToken",
            "InvalidAuthenticationTokenTenant",
            "InvalidAuthenticationTokenAudience",
            "ExpiredAuthenticationToken",
        ),
        "something the deployment refers to does not exist": (
            "ResourceNotFound",
            "ResourceGroupNotFound",
            "ParentResourceNotFound",
            "SubscriptionNotFound",
            "StorageAccountNotFound",
            "DeploymentNotFound",
            "NotFound",
        ),
        "the resource provider is not registered or not offered in this location": (
            "NoRegisteredProviderFound",
            "MissingSubscriptionRegistration",
            "MissingRegistrationForLocation",
            "InvalidSubscriptionRegistrationState",
        ),
        "a name is invalid or already taken": (
            "DeploymentNameLengthLimitExceeded",
            "DeploymentNameInvalidCharacters",
            "InvalidDeploymentName",
            "InvalidResourceName",
            "AccountNameInvalid",
            "ReservedResourceName",
            "StorageAccountAlreadyTaken",
            "StorageAccountAlreadyExists",
            "StorageAccountInAnotherResourceGroup",
            "DnsRecordInUse",
        ),
        "the deployment was canceled, and a canceled deployment is not deployed again": (
            "DeploymentCanceled",
        ),
    }
)

# later, or after a time: "try again." alone follows "correct the request" as often
_TRY_AGAIN_LATER = (
    "a request to try again later",
    r"\b(try|retry)\b(\s+\w+){0,3}\s+(later|in \d+\s*(s|sec|second|minute)s?)\b"
    r"|\bretry after\b",
)

# ARM's Conflict (409) means the request does not fit the resource's current state. Whether
# waiting helps depends on why, which only the message says: another operation in progress
# ends on its own (environmental); a name that is taken or a change the resource's state does
# not allow stays so (logic). A Conflict whose message says neither is logic: retrying a
# request the resource refuses only delays the failure (``classification`` reads these).
CONFLICT_WAITS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern, re.IGNORECASE))
    for label, pattern in (
        (
            "another operation in progress",
            r"another operation\b.{0,60}\b(in progress|being performed)"
            r"|operation\b.{0,40}\b(is )?(already |still )?in progress",
        ),
        (
            "a resource that is changing now",
            r"\bis (currently )?being (updated|deleted|created|provisioned|modified|moved)\b"
            r"|provisioning state .{0,40}\b(updating|deleting|creating|inprogress|accepted)\b",
        ),
        _TRY_AGAIN_LATER,
    )
)

# (label, pattern): searched case-insensitively in ARM messages whose code decides nothing.
ENVIRONMENTAL_MESSAGES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern, re.IGNORECASE))
    for label, pattern in (
        ("throttling", r"throttl"),
        ("a rate limit", r"\brate[- ]?limit"),
        ("too many requests", r"too many requests"),
        ("a quota exceeded", r"quota\s+(\w+\s+)?(has\s+been\s+|was\s+|is\s+)?(exceeded|reached)"),
        ("a quota exceeded", r"exceed(s|ed|ing)?\s+(the\s+|your\s+)?(\w+\s+){0,3}quota"),
        (
            "a capacity shortage",
            r"(insufficient|not enough|out of|lack of|no (available|sufficient)) capacity"
            r"|capacity (is )?(currently )?(unavailable|not available|exhausted|constraint)",
        ),
        ("another operation in progress", r"another operation\b.{0,60}\bin progress"),
        (
            "a temporary condition",
            r"temporar(il)?y\s+(unavailable|unable|down)|temporary\s+(failure|error|issue)",
        ),
        ("an unavailable service", r"\b(service|server) (is )?(currently )?unavailable"),
        ("a busy server", r"\b(server|service) (is )?(too )?busy\b"),
        _TRY_AGAIN_LATER,
        ("a timeout", r"\btimed out\b|\btime-?out (occurred|expired|exceeded)"),
    )
)

LOGIC_MESSAGES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern, re.IGNORECASE))
    for label, pattern in (
        ("a parameter that is not provided", r"\bparameter\b.{0,80}\bnot provided\b"),
        ("a policy denial", r"disallowed by policy"),
        ("a missing authorization", r"does not have authorization"),
        ("an invalid template", r"not valid according to the validation procedure"),
        ("a name that is taken", r"\balready (exists|in use|taken|registered)\b"),
    )
)

# searched in the (lowercase) code itself, for codes no table lists
ENVIRONMENTAL_CODE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("throttling", re.compile("throttl")),
    ("a rate limit", re.compile("ratelimit")),
)


def first_match(text: str, patterns: tuple[tuple[str, re.Pattern[str]], ...]) -> str | None:
    """The label of the first pattern found in ``text``."""
    return next((label for label, pattern in patterns if pattern.search(text)), None)
