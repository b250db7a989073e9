"""The options and helpers that the commands share (``blindiqa.cli.common``): the help's
examples, integer types, model options and loading, row summaries, the parser's exit
codes."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from blindiqa.cli.common import (
    CommandParser,
    ExamplesHelpFormatter,
    examples,
    load_scorer,
    model_options,
    no_images,
    non_negative_int,
    parse_and_run,
    positive_int,
    read_score_file,
    run_command,
)


def test_examples_keep_their_lines_and_prose_is_wrapped():
    parser = argparse.ArgumentParser(prog="x", formatter_class=ExamplesHelpFormatter,
                                     description="word " * 40,
                                     epilog=examples("x --one", "x --two  # two spaces"))
    text = parser.format_help()
    assert "examples:\n  x --one\n  x --two  # two spaces" in text
    prose_then_examples = argparse.ArgumentParser(
        prog="x", formatter_class=ExamplesHelpFormatter,
        epilog="Some words.\n" + examples("x --one")).format_help()
    assert "Some words.\n\nexamples:\n  x --one" in prose_then_examples
    prose = text.split("\n\n")[1].splitlines()
    assert len(prose) > 1 and all(len(line) <= 80 for line in prose)


def test_row_problems_counts_reasons_and_names_the_first_ten():
    from blindiqa.cli.common import row_problems

    assert row_problems("skipped", []) == []
    problems = [(f"p{i}.jpg", "photo not found: x" if i % 3 else "scoring failed: y")
                for i in range(12)]
    lines = row_problems("no rating for", problems)
    assert lines[0] == "no rating for 12 row(s): 8 photo not found, 4 scoring failed"
    assert lines[1:11] == [f"  p{i}.jpg: {why}" for i, (_, why) in enumerate(problems[:10])]
    assert lines[11:] == ["  ... and 2 more"]


def test_integer_types_name_what_is_wrong():
    assert positive_int("3") == 3 and non_negative_int("0") == 0
    for parse, text, message in [(positive_int, "0", "must be at least 1, got 0"),
                                 (non_negative_int, "-1", "must be 0 or more, got -1"),
                                 (positive_int, "2.5", "not an integer: '2.5'"),
                                 (non_negative_int, "x", "not an integer: 'x'")]:
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            parse(text)


def test_model_options_pass_only_what_was_given():
    given = argparse.Namespace(params="p.npz", max_side=0)
    assert model_options(given) == {"params": "p.npz", "max_side": 0}  # 0: native size
    assert model_options(argparse.Namespace(params=None, max_side=None)) == {}
    assert model_options(argparse.Namespace()) == {}  # commands without these options


def test_no_images_names_every_input_and_exits_1(capsys):
    args = argparse.Namespace(paths=["a/", "b.jpg"], manifest="list.txt")
    assert no_images(args) == 1
    assert capsys.readouterr().err == "blindiqa: error: no images found in a/, b.jpg, list.txt\n"
    assert no_images(argparse.Namespace(paths=["a/"], manifest=None)) == 1
    assert capsys.readouterr().err.endswith("no images found in a/\n")


def test_load_scorer_refuses_reasons_of_a_model_without_a_probe(model_file):
    args = argparse.Namespace(model=model_file, device="cpu", params=None, max_side=None,
                              reasons=False)
    assert not load_scorer(args).has_reasons
    args.reasons = True
    with pytest.raises(ValueError, match=r"^--reasons: model .* has no reasons probe"):
        load_scorer(args)


def test_read_score_file_refuses_a_root_that_is_no_folder(tmp_path):
    scores = tmp_path / "scores.csv"
    scores.write_text("path,score,quality,error,width,height\na.png,1.5,,,4,3\n")
    rows, folder = read_score_file(str(scores), None)
    assert [r.path for r in rows] == ["a.png"] and folder == Path()
    with pytest.raises(ValueError, match="is not a folder"):
        read_score_file(str(scores), str(scores))


def _parser(func) -> CommandParser:
    parser = CommandParser(prog="blindiqa")
    sub = parser.add_subparsers(dest="command", parser_class=CommandParser)
    sub.add_parser("go").set_defaults(func=func)
    sub.add_parser("idle")
    return parser


def test_exit_codes_of_a_command_line(capsys):
    assert parse_and_run(_parser(lambda args: 3), ["go"]) == 3
    assert parse_and_run(_parser(lambda args: None), ["go"]) == 0
    assert parse_and_run(_parser(lambda args: 0), ["idle"]) == 2  # no func: the help
    assert capsys.readouterr().err.startswith("usage: blindiqa")

    def interrupted(args):
        raise KeyboardInterrupt

    assert parse_and_run(_parser(interrupted), ["go"]) == 130
    assert capsys.readouterr().err == "interrupted\n"
    with pytest.raises(SystemExit) as stop:
        parse_and_run(_parser(lambda args: 0), ["go", "--bogus"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: blindiqa") and "error: unrecognized arguments" in err


def test_run_command_runs_one_module_as_its_sub_command():
    seen = []

    def register(sub):
        p = sub.add_parser("hello")
        p.add_argument("--n", type=positive_int)
        p.set_defaults(func=lambda args: seen.append(args.n) or 0)

    assert run_command("hello", register, ["--n", "4"]) == 0 and seen == [4]
