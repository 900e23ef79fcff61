"""Proxmox VE API simulator (real HTTPS server, PVE wording) for tests; see `PveSim`."""

from .core import RequestRecord
from .faults import Faults
from .sim import PveSim

__all__ = ["Faults", "PveSim", "RequestRecord"]
