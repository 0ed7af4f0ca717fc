"""The rule against SSRF: which webhook URLs and resolved addresses may be sent to."""

import ipaddress

import pytest

from webhooks.addresses import AddressRefused, address_is_public, address_resolve, url_refusal


@pytest.mark.parametrize(
    "address, public",
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("::1", False),
        ("fc00::1", False),
        ("fe80::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("224.0.0.1", False),
    ],
)
def test_only_public_addresses_are_public(address, public):
    assert address_is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    "url, refused",
    [
        ("https://hooks.example.com/trackly", None),
        ("http://hooks.example.com/trackly", "must be https"),
        ("ftp://hooks.example.com/", "must be an https:// URL"),
        ("https://127.0.0.1/x", "private"),
        ("https://[::1]/x", "private"),
        ("https://localhost/x", "private"),
        ("https://10.0.0.5:8443/x", "private"),
        ("https://user:pw@hooks.example.com/", "user name"),
        ("https:///nohost", "must be an https:// URL"),
    ],
)
def test_url_refusal_without_the_setting(url, refused):
    reason = url_refusal(url, allow_private=False)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and refused in reason


def test_the_setting_allows_http_and_private_hosts():
    assert url_refusal("http://127.0.0.1:9000/hook", allow_private=True) is None


def test_a_name_resolving_to_loopback_is_refused_at_delivery():
    with pytest.raises(AddressRefused, match="non-public"):
        address_resolve("localhost", 443, allow_private=False)
    assert address_resolve("localhost", 443, allow_private=True) in ("127.0.0.1", "::1")
