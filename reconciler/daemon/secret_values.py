"""The secret values this daemon holds (from the variables its config names), so texts it
stores or posts can be masked by value, whatever their shape."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from reconciler.daemon.logs import MASK, mask_text
from reconciler.settings import Settings

MIN_SECRET = 4  # shorter values would mask ordinary words


def secret_values(settings: Settings, env: Mapping[str, str]) -> frozenset[str]:
    """Values of every variable a `*_env` key of the config names."""
    names = [settings.proxmox.token_secret_env]
    if settings.git is not None and settings.git.token_env:
        names.append(settings.git.token_env)
    if settings.daemon.webhook_secret_env:
        names.append(settings.daemon.webhook_secret_env)
    for _, props in settings.catalogs:
        names.extend(value for key, value in props if key.endswith("_env"))
    return frozenset(env[name] for name in names if name and len(env.get(name, "")) >= MIN_SECRET)


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value, then every secret-looking pattern, masked."""
    for value in sorted(secrets, key=len, reverse=True):  # a secret holding another first
        text = text.replace(value, MASK)
    return mask_text(text)
