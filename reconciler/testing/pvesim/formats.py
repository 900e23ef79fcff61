"""Checks for the PVE registered string formats the LXC endpoints use; pure functions."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping

_DNS_LABEL = r"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?"
_RE_NODE = re.compile(rf"^{_DNS_LABEL}$")
_RE_DNS = re.compile(rf"^({_DNS_LABEL}\.)*{_DNS_LABEL}$")
_RE_STORAGE = re.compile(r"^[a-z][a-z0-9\-_.]*[a-z0-9]$", re.I)
_RE_CONFIGID = re.compile(r"^[a-z][a-z0-9_-]+$", re.I)
_RE_TAG = re.compile(r"^[a-z0-9_][a-z0-9_\-+.]*$", re.I)
_RE_VOLID = re.compile(r"^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$", re.I)
_RE_MAC = re.compile(r"^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}$", re.I)
_RE_SIZE = re.compile(r"^[0-9]+(\.[0-9]+)?[KMGT]?$")
_RE_POOL = re.compile(r"^[A-Za-z0-9_\-]+$")
_RE_STARTUP_PART = re.compile(r"^(?:(?:order=)?\d+|up=\d+|down=\d+)$")
_LIST_SPLIT = re.compile(r"[,;\s]+")

Check = Callable[[str], str | None]


def split_list(value: str) -> list[str]:
    """Split a PVE `-list` value on commas, semicolons and whitespace."""
    return [part for part in _LIST_SPLIT.split(value) if part]


def _regex(rx: re.Pattern[str], msg: str) -> Check:
    # Whole string: `$` alone would let "local-lvm\n" through as a storage id.
    return lambda v: None if rx.fullmatch(v) else msg.format(v=v)


def _each(check: Check) -> Check:
    def run(value: str) -> str | None:
        for part in split_list(value):
            err = check(part)
            if err:
                return err
        return None

    return run


def _ip(version: int, extra: tuple[str, ...], cidr: bool) -> Check:
    kind = "IPv4" if version == 4 else "IPv6"
    msg = f"value does not look like a valid {kind}" + (
        " network configuration" if cidr else " address"
    )

    def run(value: str) -> str | None:
        if value in extra:
            return None
        try:
            if cidr and "/" not in value:
                return msg
            obj = ipaddress.ip_interface(value) if cidr else ipaddress.ip_address(value)
        except ValueError:
            return msg
        return None if obj.version == version else msg

    return run


def _any_ip(value: str) -> str | None:
    try:
        ipaddress.ip_address(value.split("%")[0])
    except ValueError:
        return f"unable to parse IP address '{value}'"
    return None


def _startup(value: str) -> str | None:
    parts = value.split(",")
    if all(_RE_STARTUP_PART.fullmatch(p) for p in parts):
        return None
    return "unable to parse startup options"


def _mp_string(value: str) -> str | None:
    if re.search(r"[\x00-\x1f\x7f,=]", value):
        return f"mount point '{value}' contains illegal characters"
    if re.search(r"/\.\.?/|/\.\.?$|^\.\.?/", value):
        return f"mount point '{value}' contains illegal character sequences"
    return None


def _dev_string(value: str) -> str | None:
    return None if value.startswith("/dev/") else f"'{value}' is not a device"


FORMATS: Mapping[str, Check] = {
    "pve-node": _regex(_RE_NODE, "value does not look like a valid node name"),
    "pve-vmid": lambda v: None,  # the integer range check covers it
    "pve-storage-id": _regex(_RE_STORAGE, "storage ID '{v}' contains illegal characters"),
    "pve-configid": _regex(_RE_CONFIGID, "invalid configuration ID '{v}'"),
    "pve-configid-list": _each(_regex(_RE_CONFIGID, "invalid configuration ID '{v}'")),
    "dns-name": _regex(_RE_DNS, "value does not look like a valid DNS name"),
    "dns-name-list": _each(_regex(_RE_DNS, "value does not look like a valid DNS name")),
    "pve-tag-list": _each(_regex(_RE_TAG, "invalid characters in tag")),
    "pve-startup-order": _startup,
    "pve-volume-id": _regex(_RE_VOLID, "unable to parse volume ID '{v}'"),
    "pve-lxc-mp-string": _mp_string,
    "pve-lxc-dev-string": _dev_string,
    "mac-addr": _regex(_RE_MAC, "value does not look like a valid unicast MAC address"),
    "ipv4": _ip(4, (), cidr=False),
    "ipv6": _ip(6, (), cidr=False),
    "pve-ipv4-config": _ip(4, ("dhcp", "manual"), cidr=True),
    "pve-ipv6-config": _ip(6, ("auto", "dhcp", "manual"), cidr=True),
    "disk-size": _regex(_RE_SIZE, "unable to parse size '{v}'"),
    "lxc-ip-with-ll-iface-list": _each(_any_ip),
    "pve-poolid": _regex(_RE_POOL, "invalid pool ID '{v}'"),
}


def check_format(name: str, value: str) -> str | None:
    """Return PVE's complaint about `value` for the named format, or None (unknown = lax)."""
    check = FORMATS.get(name)
    return check(value) if check else None


def parse_volid(volid: str) -> tuple[str, str] | None:
    """Split `storage:volname`; None when it is not a volume id (e.g. a host path)."""
    m = _RE_VOLID.match(volid)
    return (m.group(1), m.group(2)) if m else None
