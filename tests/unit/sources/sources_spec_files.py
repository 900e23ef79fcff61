"""Helpers writing small Container spec files with known line numbers into a tmp dir."""

from __future__ import annotations

from pathlib import Path

# Line numbers matter: tests assert them.
BASE = """\
apiVersion: reconciler/v1
kind: Container
metadata:
  name: NAME
spec:
  vmid: VMID
  template: local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst
  memory: 1GiB
  rootfs: {storage: local-lvm, size: 8GiB}
  network:
    - {name: eth0, bridge: vmbr0, ip: IP/24, gateway: 192.168.4.1}
  dependsOn: DEPS
"""


def container(name: str, vmid: int, ip: str, deps: str = "[]", extra: str = "") -> str:
    """One Container document; `extra` lines go at the end of `spec` (line 13 on)."""
    text = BASE.replace("NAME", name).replace("VMID", str(vmid)).replace("IP", ip)
    return text.replace("DEPS", deps) + extra


def write(root: Path, relative: str, text: str) -> str:
    """Write a spec file; return the file name as errors show it."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)
