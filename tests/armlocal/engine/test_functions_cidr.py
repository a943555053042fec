"""CIDR functions: parseCidr, cidrSubnet, cidrHost (expected values from Microsoft's reference)."""

from __future__ import annotations

from typing import Any

import pytest

from bicep_assets.armlocal.engine.errors import ExpressionError
from bicep_assets.armlocal.engine.evaluator import EvalContext, TemplateScope, evaluate_expression


def test_parse_cidr_ipv4_documented_example() -> None:
    result = evaluate_expression("[parseCidr('10.144.0.0/20')]")
    assert result == {
        "network": "10.144.0.0",
        "netmask": "255.255.240.0",
        "broadcast": "10.144.15.255",
        "firstUsable": "10.144.0.1",
        "lastUsable": "10.144.15.254",
        "cidr": 20,
    }
    assert list(result) == ["network", "netmask", "broadcast", "firstUsable", "lastUsable", "cidr"]


def test_parse_cidr_ipv6_documented_example() -> None:
    result = evaluate_expression("[parseCidr('fdad:3236:5555::/48')]")
    assert result == {
        "network": "fdad:3236:5555::",
        "netmask": "ffff:ffff:ffff::",
        "firstUsable": "fdad:3236:5555::",
        "lastUsable": "fdad:3236:5555:ffff:ffff:ffff:ffff:ffff",
        "cidr": 48,
    }
    assert "broadcast" not in result


@pytest.mark.parametrize(
    ("network", "expected"),
    [
        ("10.144.3.7/20", {"network": "10.144.0.0", "netmask": "255.255.240.0",
                           "broadcast": "10.144.15.255", "firstUsable": "10.144.0.1",
                           "lastUsable": "10.144.15.254", "cidr": 20}),
        ("192.168.1.0/30", {"network": "192.168.1.0", "netmask": "255.255.255.252",
                            "broadcast": "192.168.1.3", "firstUsable": "192.168.1.1",
                            "lastUsable": "192.168.1.2", "cidr": 30}),
        ("192.168.1.0/31", {"network": "192.168.1.0", "netmask": "255.255.255.254",
                            "broadcast": "192.168.1.1", "firstUsable": "192.168.1.0",
                            "lastUsable": "192.168.1.1", "cidr": 31}),
        ("108.223.209.248/32", {"network": "108.223.209.248", "netmask": "255.255.255.255",
                                "broadcast": "108.223.209.248",
                                "firstUsable": "108.223.209.248",
                                "lastUsable": "108.223.209.248", "cidr": 32}),
        ("0.0.0.0/0", {"network": "0.0.0.0", "netmask": "0.0.0.0",
                       "broadcast": "255.255.255.255", "firstUsable": "0.0.0.1",
                       "lastUsable": "255.255.255.254", "cidr": 0}),
        ("2001:db8::1/128", {"network": "2001:db8::1",
                             "netmask": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                             "firstUsable": "2001:db8::1", "lastUsable": "2001:db8::1",
                             "cidr": 128}),
    ],
    ids=["host-bits-ignored", "slash-30", "slash-31", "slash-32", "slash-0", "ipv6-single"],
)  # fmt: skip
def test_parse_cidr_edges(network: str, expected: dict[str, Any]) -> None:
    assert evaluate_expression(f"[parseCidr('{network}')]") == expected


@pytest.mark.parametrize(
    ("network", "new_cidr", "index", "expected"),
    [
        # Microsoft's example: the first five /24 subnets of a /20
        ("10.144.0.0/20", 24, 0, "10.144.0.0/24"),
        ("10.144.0.0/20", 24, 1, "10.144.1.0/24"),
        ("10.144.0.0/20", 24, 2, "10.144.2.0/24"),
        ("10.144.0.0/20", 24, 3, "10.144.3.0/24"),
        ("10.144.0.0/20", 24, 4, "10.144.4.0/24"),
        # Microsoft's example: the first five /52 subnets of a /48
        ("fdad:3236:5555::/48", 52, 0, "fdad:3236:5555::/52"),
        ("fdad:3236:5555::/48", 52, 1, "fdad:3236:5555:1000::/52"),
        ("fdad:3236:5555::/48", 52, 2, "fdad:3236:5555:2000::/52"),
        ("fdad:3236:5555::/48", 52, 3, "fdad:3236:5555:3000::/52"),
        ("fdad:3236:5555::/48", 52, 4, "fdad:3236:5555:4000::/52"),
        ("10.144.0.0/20", 24, 15, "10.144.15.0/24"),
        ("10.144.0.0/20", 20, 0, "10.144.0.0/20"),
        ("10.144.0.0/20", 32, 4095, "10.144.15.255/32"),
        ("10.144.7.9/20", 22, 1, "10.144.4.0/22"),
    ],
    ids=str,
)
def test_cidr_subnet(network: str, new_cidr: int, index: int, expected: str) -> None:
    assert evaluate_expression(f"[cidrSubnet('{network}', {new_cidr}, {index})]") == expected


@pytest.mark.parametrize(
    ("network", "index", "expected"),
    [
        # Microsoft's example: the first five usable hosts of a /24
        ("10.144.3.0/24", 0, "10.144.3.1"),
        ("10.144.3.0/24", 1, "10.144.3.2"),
        ("10.144.3.0/24", 2, "10.144.3.3"),
        ("10.144.3.0/24", 3, "10.144.3.4"),
        ("10.144.3.0/24", 4, "10.144.3.5"),
        # Microsoft's example: the first five usable hosts of a /52
        ("fdad:3236:5555:3000::/52", 0, "fdad:3236:5555:3000::1"),
        ("fdad:3236:5555:3000::/52", 1, "fdad:3236:5555:3000::2"),
        ("fdad:3236:5555:3000::/52", 2, "fdad:3236:5555:3000::3"),
        ("fdad:3236:5555:3000::/52", 3, "fdad:3236:5555:3000::4"),
        ("fdad:3236:5555:3000::/52", 4, "fdad:3236:5555:3000::5"),
        ("192.168.1.0/24", 0, "192.168.1.1"),  # the reference's prose example
        ("192.168.1.0/24", 253, "192.168.1.254"),
        ("192.168.1.0/24", 0 + 3, "192.168.1.4"),  # first host an Azure subnet can use
        ("192.168.1.0/31", 1, "192.168.1.1"),
        ("192.168.1.7/32", 0, "192.168.1.7"),
        ("fdad:3236:5555:3000::/52", 9, "fdad:3236:5555:3000::a"),
    ],
    ids=str,
)
def test_cidr_host(network: str, index: int, expected: str) -> None:
    assert evaluate_expression(f"[cidrHost('{network}', {index})]") == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("[parseCidr('10.0.0.0')]", r"'parseCidr' expects its parameter 1 to be an IP address "
         r"range in CIDR notation .* The provided value '10.0.0.0' is not valid"),
        ("[parseCidr('10.0.0.0/33')]", r"'10.0.0.0/33' is not valid"),
        ("[parseCidr('10.0.0.256/8')]", r"'10.0.0.256/8' is not valid"),
        ("[parseCidr('fdad::/129')]", r"'fdad::/129' is not valid"),
        ("[parseCidr('subnet/24')]", r"'subnet/24' is not valid"),
        ("[parseCidr('10.0.0.0/255.255.0.0')]", r"'10.0.0.0/255.255.0.0' is not valid"),
        ("[parseCidr('')]", r"The provided value '' is not valid"),
        ("[parseCidr(24)]", r"'parseCidr' expects its parameter 1 to be a string.*'Integer'"),
        ("[cidrSubnet('10.144.0.0/20', 16, 0)]",
         r"'cidrSubnet' expects its parameter 2 \(the new CIDR\) to be between 20 and 32 for "
         r"the network '10.144.0.0/20'. The provided value is '16'"),
        ("[cidrSubnet('10.144.0.0/20', 33, 0)]", r"between 20 and 32 .* value is '33'"),
        ("[cidrSubnet('10.144.0.0/20', 24, 16)]",
         r"'cidrSubnet' expects its parameter 3 \(the subnet index\) to be between 0 and 15: "
         r"the network '10.144.0.0/20' has 16 subnets of size /24. The provided value is '16'"),
        ("[cidrSubnet('10.144.0.0/20', 24, -1)]", r"between 0 and 15.* value is '-1'"),
        ("[cidrSubnet('10.144.0.0/20', '24', 0)]",
         r"'cidrSubnet' expects its parameter 2 to be an integer.*'String'"),
        ("[cidrSubnet('10.144.0.0/20', 24)]",
         r"'cidrSubnet' expects exactly 3 parameters, but 2 were provided"),
        ("[cidrHost('10.144.3.0/24', 254)]",
         r"'cidrHost' expects its parameter 2 \(the host index\) to be between 0 and 253: the "
         r"network '10.144.3.0/24' has 254 usable host addresses. The provided value is '254'"),
        ("[cidrHost('10.144.3.0/24', -1)]", r"between 0 and 253.* value is '-1'"),
        ("[cidrHost('192.168.1.7/32', 1)]", r"between 0 and 0: .* has 1 usable host address\. "),
        ("[cidrHost('10.144.3.0/24', '0')]",
         r"'cidrHost' expects its parameter 2 to be an integer.*'String'"),
        ("[cidrHost('10.144.3.0', 0)]", r"'cidrHost' expects its parameter 1 to be an IP address"),
    ],
    ids=["no-prefix", "prefix-too-long", "bad-octet", "ipv6-prefix-too-long", "not-an-address",
         "netmask-form", "empty", "not-a-string", "subnet-larger-than-network",
         "subnet-prefix-too-long", "subnet-index-too-large", "subnet-index-negative",
         "subnet-cidr-not-int", "subnet-missing-index", "host-index-too-large",
         "host-index-negative", "host-index-slash-32", "host-index-not-int", "host-no-prefix"],
)  # fmt: skip
def test_cidr_errors(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        evaluate_expression(expression)


def test_cidr_subnet_rejects_a_boolean_index() -> None:
    scope = TemplateScope(parameters={"index": True})
    with pytest.raises(ExpressionError, match=r"parameter 3 to be an integer.*'Boolean'"):
        evaluate_expression(
            "[cidrSubnet('10.144.0.0/20', 24, parameters('index'))]", EvalContext(scope)
        )
