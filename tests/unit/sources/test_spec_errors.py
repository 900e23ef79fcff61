"""Each class of spec problem is reported as `file:line: path: message`, and nothing is built."""

from __future__ import annotations

from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from sources_spec_files import container, write

from reconciler.model.containers import OWNER_TAG
from reconciler.sources import SpecError, load_desired
from reconciler.sources.documents import parse_documents
from reconciler.sources.validate import schema_errors, validate

A = container("a", 200, "192.168.4.50")
B = container("b", 201, "192.168.4.51")

CASES: dict[str, tuple[dict[str, str], list[str]]] = {
    "unknown key": (
        {"a.yaml": container("a", 200, "192.168.4.50", extra="  colour: blue\n  cpres: 2\n")},
        [
            "a.yaml:13: spec.colour: unknown key",
            "a.yaml:14: spec.cpres: unknown key; did you mean 'cores'?",
        ],
    ),
    "unknown nested key": (
        {"a.yaml": A.replace("gateway: 192.168.4.1}", "gateway: 192.168.4.1, gw: x}")},
        ["a.yaml:11: spec.network[0].gw: unknown key"],
    ),
    "unknown top-level key": (
        {"a.yaml": A + "status: {}\n"},
        ["a.yaml:13: status: unknown key"],
    ),
    "wrong type": (
        {"a.yaml": A.replace("vmid: 200", "vmid: abc")},
        ['a.yaml:6: spec.vmid: "abc" is not an integer'],
    ),
    "missing required key": (
        {
            "a.yaml": A.replace(
                "  template: local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst\n", ""
            )
        },
        ["a.yaml:5: spec.template: required key is missing"],
    ),
    "bad name": (
        {"a.yaml": A.replace("name: a\n", "name: Bad_Name\n")},
        [
            'a.yaml:4: metadata.name: "Bad_Name" is not a valid name; use lower-case letters, '
            "digits and '-', starting and ending with a letter or digit, at most 63 characters"
        ],
    ),
    "bad memory unit": (
        {"a.yaml": A.replace("memory: 1GiB", "memory: 2 gigs")},
        [
            'a.yaml:8: spec.memory: "2 gigs" is not a size; '
            "use a number with a unit: 512MiB, 2GiB, ..."
        ],
    ),
    "bad disk unit and duration": (
        {"a.yaml": A.replace("size: 8GiB", "size: 8XB") + "  startup: {upDelay: soon}\n"},
        [
            'a.yaml:9: spec.rootfs.size: "8XB" is not a size; use a number with a unit: '
            "512MiB, 2GiB, ...",
            'a.yaml:13: spec.startup.upDelay: "soon" is not a duration; use a whole number '
            "with s, m, h, d or w: 30s, 10m, 4h, 7d, 1w",
        ],
    ),
    "memory below the PVE minimum": (
        {"a.yaml": A.replace("memory: 1GiB", "memory: 8")},
        ["a.yaml:8: spec.memory: must be at least 16MiB"],
    ),
    "gateway outside the subnet": (
        {"a.yaml": container("a", 200, "192.168.5.10")},
        [
            "a.yaml:11: spec.network[0].gateway: "
            "gateway 192.168.4.1 is outside the subnet 192.168.5.0/24"
        ],
    ),
    "ip not an address": (
        {"a.yaml": container("a", 200, "192.168.4.500")},
        [
            "a.yaml:11: spec.network[0].ip: "
            "'192.168.4.500/24' is not an IPv4 address/prefix or one of dhcp, manual"
        ],
    ),
    "duplicate name": (
        {"a.yaml": A, "b.yaml": container("a", 201, "192.168.4.51")},
        ["b.yaml:4: metadata.name: container/a is already defined at a.yaml:1"],
    ),
    "duplicate vmid": (
        {"a.yaml": A, "b.yaml": container("b", 200, "192.168.4.51")},
        ["b.yaml:6: spec.vmid: vmid 200 is also used by container/a"],
    ),
    "duplicate hostname": (
        {"a.yaml": A, "b.yaml": B + "  hostname: A\n"},
        ["b.yaml:13: spec.hostname: hostname 'a' is also used by container/a"],
    ),
    "duplicate ip": (
        {"a.yaml": A, "b.yaml": container("b", 201, "192.168.4.50")},
        ["b.yaml:11: spec.network[0]: IP address 192.168.4.50 is also used by container/a"],
    ),
    "unknown dependency": (
        {"a.yaml": container("a", 200, "192.168.4.50", deps="[b, ghost]"), "b.yaml": B},
        ["a.yaml:12: spec.dependsOn[1]: unknown dependency 'container/ghost': no such spec"],
    ),
    "dependency on an unknown kind": (
        {"a.yaml": container("a", 200, "192.168.4.50", deps="[bucket/raw]")},
        ["a.yaml:12: spec.dependsOn[0]: unknown kind 'bucket' in 'bucket/raw'; known: "],
    ),
    "dependency cycle": (
        {
            "a.yaml": container("a", 200, "192.168.4.50", deps="[container/b]"),
            "b.yaml": container("b", 201, "192.168.4.51", deps="\n    - a"),
        },
        [
            "b.yaml:13: spec.dependsOn[0]: "
            "dependency cycle: container/a -> container/b -> container/a"
        ],
    ),
    "self dependency": (
        {"a.yaml": container("a", 200, "192.168.4.50", deps="[a]")},
        ["a.yaml:12: spec.dependsOn[0]: dependency cycle: container/a -> container/a"],
    ),
    "yaml syntax error": (
        {
            "a.yaml": A,
            "b.yaml": "apiVersion: reconciler/v1\nkind: Container\nmetadata: {name: b\nspec: {}\n",
        },
        ["b.yaml:4: YAML syntax error: "],
    ),
    "duplicate key": (
        {"a.yaml": A + "  vmid: 300\n"},
        ["a.yaml:13: spec.vmid: duplicate key"],
    ),
    "unknown kind": (
        {"a.yaml": A.replace("kind: Container", "kind: Widget")},
        ['a.yaml:2: kind: unknown kind "Widget"; expected one of: '],
    ),
    "unknown apiVersion": (
        {"a.yaml": A.replace("reconciler/v1", "reconciler/v2")},
        ['a.yaml:1: apiVersion: unsupported apiVersion "reconciler/v2"; expected "reconciler/v1"'],
    ),
    "missing envelope": (
        {"a.yaml": "metadata: {name: a}\n"},
        [
            "a.yaml:1: apiVersion: required key is missing",
            "a.yaml:1: kind: required key is missing",
        ],
    ),
    "not a mapping": (
        {"a.yaml": "- just\n- a list\n"},
        ["a.yaml:1: a spec document must be a mapping with apiVersion, kind, metadata, spec"],
    ),
    "ownership tag listed": (
        {"a.yaml": A + f"  tags: [datalake, {OWNER_TAG}]\n"},
        [f"a.yaml:13: spec.tags: '{OWNER_TAG}' is added by the reconciler; do not list it"],
    ),
    "bind mount with a volume": (
        {
            "a.yaml": A
            + "  mountpoints:\n    - {path: /x, hostPath: /tank, storage: local-lvm, size: 1}\n"
        },
        [
            "a.yaml:14: spec.mountpoints[0]: "
            "give either hostPath (bind mount) or storage and size, not both"
        ],
    ),
    "duplicate interface id": (
        {
            "a.yaml": A.replace(
                "  dependsOn", "    - {id: 0, name: eth1, bridge: vmbr1}\n  dependsOn"
            )
        },
        ["a.yaml:12: spec.network[1].id: interface id 0 (net0) is used twice"],
    ),
}


def _run(tmp_path: Path, files: dict[str, str]) -> list[str]:
    for name, text in files.items():
        write(tmp_path, name, text)
    result = load_desired(tmp_path)
    assert (result.desired is None) == bool(result.errors)
    return [str(error).replace(f"{tmp_path}/", "") for error in result.errors]


@pytest.mark.parametrize("case", sorted(CASES))
def test_error_class_is_located(tmp_path: Path, case: str) -> None:
    files, expected = CASES[case]
    got = _run(tmp_path, files)
    expected = [line.replace("{root}", str(tmp_path)) for line in expected]
    assert len(got) == len(expected), got
    for line, want in zip(got, expected, strict=True):
        assert line.startswith(want) if want.endswith(": ") else line == want


def test_all_problems_at_once_and_nothing_built(tmp_path: Path) -> None:
    write(tmp_path, "containers/a.yaml", A.replace("vmid: 200", "vmid: abc"))
    write(tmp_path, "containers/b.yaml", container("b", 201, "192.168.5.1"))
    write(tmp_path, "containers/c.yaml", "kind: [\n")
    write(tmp_path, "containers/d.yaml", B.replace("name: b", "name: d").replace("201", "202")
          .replace("192.168.4.51", "192.168.4.52"))  # fmt: skip
    result = load_desired(tmp_path)
    assert result.desired is None
    assert [(Path(e.file).name, e.line, e.path) for e in result.errors] == [
        ("a.yaml", 6, "spec.vmid"),
        ("b.yaml", 11, "spec.network[0].gateway"),
        ("c.yaml", 2, ""),
    ]
    assert validate(tmp_path) == result.errors


def test_spec_error_text() -> None:
    error = SpecError("specs/containers/minio.yaml", 12, "spec.network[0].gateway", "outside")
    assert str(error) == "specs/containers/minio.yaml:12: spec.network[0].gateway: outside"
    assert (
        str(SpecError("x.yaml", 3, "", "YAML syntax error: bad"))
        == "x.yaml:3: YAML syntax error: bad"
    )


def test_missing_specs_dir_is_an_error_not_an_exception(tmp_path: Path) -> None:
    result = load_desired(tmp_path / "nope")
    assert result.desired is None
    assert [e.message for e in result.errors] == ["specs directory does not exist"]


def test_one_of_reports_the_alternative_meant() -> None:
    schema = {
        "type": "object",
        "properties": {
            "t": {
                "oneOf": [
                    {"type": "string", "pattern": "^a$"},
                    {"type": "object", "required": ["x"]},
                ]
            }
        },
    }
    validator = Draft202012Validator(schema)
    for text, want in [
        ("t: b\n", ['s.yaml:1: t: "b" does not have the expected form']),
        ("other: 1\nt: {y: 1}\n", ["s.yaml:2: t.x: required key is missing"]),
    ]:
        (doc,), _ = parse_documents(text, "s.yaml")
        got = [
            str(e) for error in validator.iter_errors(doc.data) for e in schema_errors(doc, error)
        ]
        assert got == want
