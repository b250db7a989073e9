"""Options and helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blindiqa.scoring.rows import OUT_EXTENSIONS, read_rows
from blindiqa.viz.checks import MAP_OPACITY, check_map_opacity

if TYPE_CHECKING:
    from blindiqa.models.base import QualityModel
    from blindiqa.scoring.rows import Row


class ExamplesHelpFormatter(argparse.HelpFormatter):
    """argparse's help layout, except that description and epilog lines indented by two
    spaces are printed as written (command examples) under an ``examples:`` line of their
    own, the rest wrapped as usual."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out, prose = [], []
        for line in text.splitlines():
            if line == "examples:":  # a heading of its own, after a blank line
                if prose:
                    out.append(super()._fill_text(" ".join(prose), width, indent))
                    prose = []
                out += [""] * bool(out) + [indent + line]
            elif line.startswith("  "):
                if prose:
                    out.append(super()._fill_text(" ".join(prose), width, indent))
                    prose = []
                out.append(indent + line)
            else:
                prose.append(line.strip())
        if prose:
            out.append(super()._fill_text(" ".join(prose), width, indent))
        return "\n".join(out)


def examples(*lines: str) -> str:
    """An ``epilog`` of command examples, one per line (see :class:`ExamplesHelpFormatter`)."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


class CommandParser(argparse.ArgumentParser):
    """The parser of ``blindiqa`` and its sub-commands: bad usage exits with code 2 and
    the usage line.

    Args:
        populate: optional ``populate(parser)`` adding the parser's arguments; it runs
            once, when the parser is first used (parsing, help, usage), so that a
            sub-command whose options need torch-side values (the ``train`` stages)
            costs nothing until it is chosen. The sub-parsers of ``blindiqa`` and of
            ``blindiqa train`` are created with ``action=SubCommands``, which runs it
            before handing the arguments over.
        *args, **kwargs: as for :class:`argparse.ArgumentParser`.
    """

    def __init__(self, *args: Any, populate: Callable[[argparse.ArgumentParser], None]
                 | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", ExamplesHelpFormatter)
        super().__init__(*args, **kwargs)
        self._populate = populate

    def populate(self) -> None:
        """Add the arguments given by ``populate`` now, if not done yet."""
        populate, self._populate = self._populate, None
        if populate is not None:
            populate(self)

    def parse_known_args(self, args=None, namespace=None):
        self.populate()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self.populate()
        return super().format_usage()

    def format_help(self) -> str:
        self.populate()
        return super().format_help()

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


class SubCommands(argparse._SubParsersAction):
    """``add_subparsers(action=SubCommands)``: completes the chosen sub-parser (see
    :class:`CommandParser`'s ``populate``) before it parses the rest of the line."""

    def __call__(self, parser, namespace, values, option_string=None):
        chosen = self._name_parser_map.get(values[0])
        if isinstance(chosen, CommandParser):
            chosen.populate()
        super().__call__(parser, namespace, values, option_string)


def parse_and_run(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    """Parse ``argv`` and run the chosen sub-command; its exit code."""
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def run_command(name: str, register: Callable[[Any], None],
                argv: list[str] | None = None) -> int:
    """``python -m blindiqa.cli.NAME ...``, the same as ``blindiqa NAME ...``.

    Args:
        name: the sub-command that ``register`` adds.
        register: the module's ``register(subparsers)``.
        argv: the arguments after the sub-command (default: ``sys.argv[1:]``).

    Returns:
        The exit code.
    """
    parser = CommandParser(prog="blindiqa")
    sub = parser.add_subparsers(dest="command", parser_class=CommandParser,
                                action=SubCommands)
    register(sub)
    return parse_and_run(parser, [name, *(sys.argv[1:] if argv is None else argv)])


def _int_at_least(text: str, minimum: int, rule: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{rule}, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    return _int_at_least(text, 1, "must be at least 1")


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _int_at_least(text, 0, "must be 0 or more")


def add_model_options(parser: argparse.ArgumentParser, multiple: bool = False) -> None:
    """``--model NAME|FILE``, ``--params FILE``, ``--device``."""
    if multiple:
        parser.add_argument("--model", action="append", required=True, metavar="NAME|FILE",
                            help="a registered model (see `blindiqa models`) or a model "
                                 "file; repeat for several")
    else:
        parser.add_argument("--model", default="default", metavar="NAME|FILE",
                            help="a registered model (see `blindiqa models`) or a model file "
                                 "(default: %(default)s)")
    parser.add_argument("--params", metavar="FILE",
                        help="parameter file for niqe / ilniqe (official .npz/.mat or ours)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                        help="where to run the encoder (default: %(default)s)")
    parser.add_argument("--max-side", type=non_negative_int, default=None, metavar="PX",
                        help="one-pass models: scale images whose long side exceeds PX "
                             "down to it before scoring; 0 = native resolution (default: "
                             "the model's own setting, see `blindiqa models`)")


def map_opacity(text: str) -> float:
    """argparse type: a map's opacity over its photo, 0 to 1 (``--map-opacity``)."""
    try:
        return check_map_opacity(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_map_opacity_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--map-opacity A``: how strongly the quality map covers the photo in ``what``."""
    parser.add_argument("--map-opacity", type=map_opacity, default=MAP_OPACITY, metavar="A",
                        help=f"opacity of {what} over the photo, from 0 (photo only) to 1 "
                             "(map only; default: %(default)s)")


def add_workers_option(parser: argparse.ArgumentParser) -> None:
    """``--workers N``: decoding processes, crash-isolated (see :mod:`blindiqa.io.workers`)."""
    parser.add_argument("--workers", type=non_negative_int, default=1, metavar="N",
                        help="decoding processes (0 = in the main process; default: "
                             "%(default)s); a file that crashes or hangs its worker gets an "
                             "error and the run goes on")


def add_quiet_option(parser: argparse.ArgumentParser, also: str = "no summary") -> None:
    """``--quiet``: no progress (a bar on a terminal, plain lines elsewhere), and ``also``."""
    parser.add_argument("--quiet", action="store_true",
                        help=f"no progress (a bar on a terminal, else a line every "
                             f"$BLINDIQA_PROGRESS_EVERY s, default 10) and {also}")


def model_options(args: argparse.Namespace) -> dict[str, Any]:
    """The model options given on the command line (``--params``, ``--max-side``), as
    :func:`blindiqa.models.load.load` takes them; the same for both scoring engines."""
    options: dict[str, Any] = {"params": args.params} if getattr(args, "params", None) else {}
    if getattr(args, "max_side", None) is not None:
        options["max_side"] = args.max_side
    return options


def load_model(name: str, args: argparse.Namespace) -> QualityModel:
    """Load a model named on the command line; ``ValueError`` says what is wrong."""
    from blindiqa.models.load import load

    return load(name, device=args.device, **model_options(args))


def load_scorer(args: argparse.Namespace) -> QualityModel:
    """Load ``--model`` to score with (``score``, ``report``): as :func:`load_model`, and
    a model that cannot give the ``--reasons`` asked for is a ``ValueError`` too.

    Raises:
        ValueError, OSError: what is wrong, in words for the command line.
    """
    model = load_model(args.model, args)
    if getattr(args, "reasons", False) and model.reasons_problem() is not None:
        raise ValueError(f"--reasons: {model.reasons_problem()}")
    return model


def show_progress(args: argparse.Namespace) -> bool:
    """Progress unless ``--quiet``: a bar on a terminal, plain lines elsewhere (see
    :class:`blindiqa.progress.Progress`)."""
    return not getattr(args, "quiet", False)


def add_score_file_options(p: argparse.ArgumentParser) -> None:
    """``SCORES`` (a score file of ``blindiqa score``) and ``--root DIR``, the options of
    the commands that read one (:func:`read_score_file`)."""
    p.add_argument("scores", metavar="SCORES",
                   help=f"a score file from `blindiqa score --out` "
                        f"({', '.join(OUT_EXTENSIONS)})")
    p.add_argument("--root", metavar="DIR",
                   help="find photos whose path in SCORES is relative under DIR (default: "
                        "the current folder, as for the `blindiqa score` run that wrote it)")


def read_score_file(scores: str, root: str | None) -> tuple[list[Row], Path]:
    """The rows of a score file from ``blindiqa score`` and the folder its relative photo
    paths are found from (``root``, or the current folder).

    Raises:
        ValueError: the file cannot be read or is not a score file
            (:class:`~blindiqa.scoring.rows.RowFileError`), or ``root`` is not a folder.
    """
    rows = read_rows(scores)
    folder = Path(root) if root else Path()
    if root and not folder.is_dir():
        raise ValueError(f"--root {root} is not a folder")
    return rows, folder


#: How many rows a summary names one by one before "... and N more".
SHOWN_ROWS = 10


def row_problems(heading: str, problems: list[tuple[str, str]]) -> list[str]:
    """Summary lines for the rows a command could not handle: ``heading`` with the count
    per reason (the text before a reason's first ``:``), then the first
    :data:`SHOWN_ROWS` rows as ``  path: reason`` and "... and N more"; none for no row.

    Args:
        heading: e.g. ``"skipped"``: the first line reads ``"skipped 3 row(s): ..."``.
        problems: ``(path, reason)`` per row.
    """
    if not problems:
        return []
    reasons = Counter(reason.split(":")[0] for _, reason in problems)
    lines = [f"{heading} {len(problems)} row(s): "
             + ", ".join(f"{n} {why}" for why, n in sorted(reasons.items()))]
    lines += [f"  {path}: {why}" for path, why in problems[:SHOWN_ROWS]]
    if len(problems) > SHOWN_ROWS:
        lines.append(f"  ... and {len(problems) - SHOWN_ROWS} more")
    return lines


def no_images(args: argparse.Namespace) -> int:
    """Exit 1 with ``no images found in`` the inputs (``paths`` and ``manifest``)."""
    what = ", ".join([*args.paths, *([args.manifest] if args.manifest else [])])
    return fail(f"no images found in {what}", code=1)


def fail(message: str, code: int = 2) -> int:
    print(f"blindiqa: error: {message}", file=sys.stderr)
    return code
