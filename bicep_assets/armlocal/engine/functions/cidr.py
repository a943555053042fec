"""CIDR functions: parseCidr, cidrSubnet, cidrHost (IPv4 and IPv6).

Shapes follow Microsoft's reference: ``parseCidr('10.144.0.0/20')`` gives ``network``,
``netmask``, ``broadcast``, ``firstUsable``, ``lastUsable``, ``cidr``; for IPv6 there is no
``broadcast`` and every address of the range is usable. ``cidrHost`` index 0 is the first
address after the network address (``192.168.1.1`` in ``192.168.1.0/24``). Host bits set in
the input are ignored (``10.144.3.7/20`` is the network ``10.144.0.0/20``).

IPv4 ``/31`` and ``/32`` follow RFC 3021: both addresses of a ``/31`` (and the single
address of a ``/32``) are usable hosts.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from ..errors import ExpressionError
from ..evaluator import EvalContext
from .registry import arm_function, expect_int, expect_str

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_CIDR = re.compile(r"(?P<address>[0-9A-Fa-f.:]+)/(?P<prefix>\d{1,3})")


def _network(fn: str, value: Any) -> Network:
    text = expect_str(fn, value, 0)
    match = _CIDR.fullmatch(text.strip())
    try:
        if not match:
            raise ValueError(text)
        return ipaddress.ip_network(f"{match['address']}/{int(match['prefix'])}", strict=False)
    except ValueError:
        raise ExpressionError(
            f"The template language function '{fn}' expects its parameter 1 to be an IP "
            f"address range in CIDR notation (such as '10.0.0.0/16' or 'fdad:3236:5555::/48'). "
            f"The provided value '{text}' is not valid."
        ) from None


def _usable_range(net: Network) -> tuple[int, int]:
    """First and last usable host addresses of ``net``, as integers."""
    first, last = int(net.network_address), int(net.broadcast_address)
    if net.version == 4 and net.prefixlen <= 30:
        return first + 1, last - 1
    return first, last


@arm_function("parseCidr", min_args=1)
def parse_cidr(ctx: EvalContext, network: Any) -> dict[str, Any]:
    """Properties of an address range: network, netmask, (broadcast), usable range, cidr."""
    net = _network("parseCidr", network)
    first, last = _usable_range(net)
    address = type(net.network_address)
    result: dict[str, Any] = {
        "network": str(net.network_address),
        "netmask": str(net.netmask),
    }
    if net.version == 4:
        result["broadcast"] = str(net.broadcast_address)
    result["firstUsable"] = str(address(first))
    result["lastUsable"] = str(address(last))
    result["cidr"] = net.prefixlen
    return result


@arm_function("cidrSubnet", min_args=3)
def cidr_subnet(ctx: EvalContext, network: Any, new_cidr: Any, subnet_index: Any) -> str:
    """The ``subnet_index``-th subnet of size ``/new_cidr`` inside ``network``, in CIDR form."""
    net = _network("cidrSubnet", network)
    new_prefix = expect_int("cidrSubnet", new_cidr, 1)
    index = expect_int("cidrSubnet", subnet_index, 2)
    if not net.prefixlen <= new_prefix <= net.max_prefixlen:
        raise ExpressionError(
            f"The template language function 'cidrSubnet' expects its parameter 2 (the new "
            f"CIDR) to be between {net.prefixlen} and {net.max_prefixlen} for the network "
            f"'{net}'. The provided value is '{new_prefix}'."
        )
    count = 1 << (new_prefix - net.prefixlen)
    if not 0 <= index < count:
        raise ExpressionError(
            f"The template language function 'cidrSubnet' expects its parameter 3 (the subnet "
            f"index) to be between 0 and {count - 1}: the network '{net}' has {count} "
            f"subnet{'s' if count != 1 else ''} of size /{new_prefix}. The provided value is "
            f"'{index}'."
        )
    start = int(net.network_address) + (index << (net.max_prefixlen - new_prefix))
    return f"{type(net.network_address)(start)}/{new_prefix}"


@arm_function("cidrHost", min_args=2)
def cidr_host(ctx: EvalContext, network: Any, host_index: Any) -> str:
    """The usable host address number ``host_index`` (from 0) of ``network``."""
    net = _network("cidrHost", network)
    index = expect_int("cidrHost", host_index, 1)
    first, last = int(net.network_address), int(net.broadcast_address)
    if net.prefixlen < net.max_prefixlen - 1:
        first += 1  # the network address itself is not a host address
        if net.version == 4:
            last -= 1  # nor is the IPv4 broadcast address
    count = last - first + 1
    if not 0 <= index < count:
        raise ExpressionError(
            f"The template language function 'cidrHost' expects its parameter 2 (the host "
            f"index) to be between 0 and {count - 1}: the network '{net}' has {count} usable "
            f"host address{'es' if count != 1 else ''}. The provided value is '{index}'."
        )
    return str(type(net.network_address)(first + index))
