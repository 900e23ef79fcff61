"""The PVE text helpers under their old provider name (they live in plan.pve_text now)."""

from reconciler.plan.pve_text import (
    CodecError,
    format_disk_size,
    format_gib,
    format_number,
    format_propstring,
    format_scalar,
    get_str,
    normalise_tags,
    parse_bool,
    parse_disk_size,
    parse_float,
    parse_int,
    parse_opt_bool,
    parse_propstring,
    split_list,
    to_flag,
)

__all__ = [
    "CodecError",
    "format_disk_size",
    "format_gib",
    "format_number",
    "format_propstring",
    "format_scalar",
    "get_str",
    "normalise_tags",
    "parse_bool",
    "parse_disk_size",
    "parse_float",
    "parse_int",
    "parse_opt_bool",
    "parse_propstring",
    "split_list",
    "to_flag",
]
