"""The `reconcile` parser matches flags whole: a prefix of a flag is an error naming it."""

from __future__ import annotations

import pytest

from reconciler.cli import main
from reconciler.cli.parser import build_parser


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["apply", "--out", "f"], "--out"),
        (["plan", "--outp", "json"], "--outp"),
        (["apply", "--yes", "--allow-dest"], "--allow-dest"),
        (["drift", "--form", "json"], "--form"),
        (["--no-col", "plan"], "--no-col"),
    ],
)
def test_abbreviated_flag_exits_2_naming_it(
    argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments" in err
    assert flag in err


def test_whole_flags_still_parse() -> None:
    args = build_parser().parse_args(["plan", "--output", "json", "--out", "p.json"])
    assert (args.output, str(args.out)) == ("json", "p.json")
    args = build_parser().parse_args(["drift", "--format", "markdown"])
    assert args.output == "markdown"
    args = build_parser().parse_args(["-vv", "history", "-n5"])
    assert (args.verbose, args.n) == (2, 5)
