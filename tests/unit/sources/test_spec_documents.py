"""YAML documents: lines per field, safe_load semantics, oversized files and alias bombs refused."""

from __future__ import annotations

from pathlib import Path

from sources_spec_files import write

from reconciler.sources import load_desired
from reconciler.sources.documents import MAX_FILE_BYTES, parse_documents, read_file


def _bomb(levels: int) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels + 1):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_ten_megabyte_file_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "containers" / "big.yaml"
    big.parent.mkdir()
    with big.open("w", encoding="utf-8") as stream:
        line = "# " + "x" * 1021 + "\n"
        for _ in range(10 * 1024):
            stream.write(line)
    assert big.stat().st_size == 10 * 1024 * 1024 > MAX_FILE_BYTES
    result = load_desired(tmp_path)
    assert result.desired is None
    assert [str(e) for e in result.errors] == [f"{big}:1: file is larger than 1024 KiB; refused"]


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "containers/bomb.yaml", _bomb(9))
    result = load_desired(tmp_path)
    assert result.desired is None
    assert [str(e) for e in result.errors] == [
        f"{path}:1: document expands to more than 100000 nodes through aliases; refused"
    ]


def test_too_many_aliases_and_recursive_aliases_are_refused() -> None:
    many = "a: &a 1\nb: [" + ", ".join(["*a"] * 101) + "]\n"
    _, errors = parse_documents(many, "many.yaml")
    assert [str(e) for e in errors] == ["many.yaml:2: more than 100 aliases; refused"]
    _, errors = parse_documents("a: &x\n  - *x\n", "loop.yaml")
    assert [str(e) for e in errors] == ["loop.yaml:2: recursive alias is not allowed; refused"]


def test_node_count_is_capped() -> None:
    _, errors = parse_documents("[" + "1," * 30_000 + "]", "wide.yaml")
    assert [str(e) for e in errors] == ["wide.yaml:1: more than 20000 YAML nodes; refused"]


def test_small_aliases_and_merge_keys_work_with_lines() -> None:
    text = (
        "base: &base {cores: 2, memory: 1GiB}\n"
        "spec:\n  <<: *base\n  cores: 4\n  list:\n    - x\n    - {y: 1}\n"
    )
    (doc,), errors = parse_documents(text, "m.yaml")
    assert errors == ()
    assert doc.data["spec"] == {"cores": 4, "memory": "1GiB", "list": ["x", {"y": 1}]}
    assert doc.line_of(("spec", "cores")) == 4
    assert doc.line_of(("spec", "memory")) == 1  # merged from the anchor's line
    assert doc.line_of(("spec", "list", 1, "y")) == 7
    assert doc.line_of(("spec", "list", 1, "missing")) == 7
    assert doc.line_of(("nothing",)) == 1


def test_multiple_documents_keep_their_own_lines() -> None:
    docs, errors = parse_documents("a: 1\n---\n---\n# note\nb:\n  c: 2\n...\n", "multi.yaml")
    assert errors == ()
    assert [(d.index, d.line, d.data) for d in docs] == [(0, 1, {"a": 1}), (2, 5, {"b": {"c": 2}})]
    assert docs[1].line_of(("b", "c")) == 6


def test_python_tags_are_refused_as_safe_load_does(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"a: !!python/object/apply:os.system ['touch {marker}']\n"
    _, errors = parse_documents(text, "evil.yaml")
    assert len(errors) == 1
    assert str(errors[0]).startswith("evil.yaml:1: unsupported YAML: ")
    assert "python/object/apply:os.system" in errors[0].message
    assert not marker.exists()


def test_yaml_1_1_scalars_follow_safe_load() -> None:
    (doc,), _ = parse_documents("a: yes\nb: 010\nc: 1_000\nd: ~\n", "s.yaml")
    assert doc.data == {"a": True, "b": 8, "c": 1000, "d": None}


def test_non_utf8_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\u00e9\n".encode("latin-1"))
    docs, errors = read_file(path, "latin1.yaml")
    assert docs == ()
    assert [str(e) for e in errors] == [
        "latin1.yaml:1: file is not UTF-8: invalid continuation byte"
    ]


def test_deep_nesting_is_refused_before_the_stack_overflows() -> None:
    _, errors = parse_documents("a: " + "[" * 400 + "]" * 400 + "\n", "deep.yaml")
    assert [str(e) for e in errors] == ["deep.yaml:1: nested deeper than 64 levels; refused"]
    chained = "a0: &a0 {x: 1}\n" + "".join(
        f"a{i}: &a{i} " + "{k: " * 30 + f"*a{i - 1}" + "}" * 30 + "\n" for i in range(1, 5)
    )
    _, errors = parse_documents(chained, "chain.yaml")
    assert [str(e) for e in errors] == [
        "chain.yaml:1: document expands to deeper than 64 levels through aliases; refused"
    ]


def test_keys_must_be_unique_strings() -> None:
    text = (
        "labels:\n  1: x\n  yes: y\n  ok: z\n  ok: again\nbase: &b {a: 1}\nmerged: {<<: *b, a: 2}\n"
    )
    (doc,), errors = parse_documents(text, "k.yaml")
    assert [str(e) for e in errors] == [
        "k.yaml:2: labels['1']: keys must be strings; quote it",
        "k.yaml:3: labels.yes: keys must be strings; quote it",
        "k.yaml:5: labels.ok: duplicate key",
    ]
    assert doc.data["merged"] == {"a": 2}  # a merge override is not a duplicate
