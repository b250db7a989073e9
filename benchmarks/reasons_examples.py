"""The reasons of the default model on given photos, as a Markdown table (to write down
beside what one sees on the photos; docs/reasons.md).

    python benchmarks/reasons_examples.py PHOTO... [--names]

Columns: the photo, its 0-100 quality, then the six families' estimated strengths (0-5).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from blindiqa.models.load import load
from blindiqa.reasons import FAMILIES
from blindiqa.scoring import score_files


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("photos", nargs="+", type=Path)
    args = p.parse_args()
    model = load("default")
    print("| photo | quality | " + " | ".join(FAMILIES) + " |")
    print("|---|---:|" + "---:|" * len(FAMILIES))
    for rec in score_files(model, [(f, f.name) for f in args.photos], with_reasons=True):
        if rec.error is not None:
            print(f"| {rec.name} | error: {rec.error} |")
            continue
        cells = " | ".join(f"{rec.reasons[f]:.1f}" for f in FAMILIES)
        print(f"| {rec.name} | {rec.quality:.0f} | {cells} |")


if __name__ == "__main__":
    main()
