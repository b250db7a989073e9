"""The ablation report: ``results.md``, ``results.json`` and a bar chart.

The chart follows the poster of Babu et al. (WACV 2023): one bar per training stage,
left to right in the order the stages are added, the value printed on each bar, darker
bars for later stages; here |SRCC| and PLCC side by side, one panel per dataset.
matplotlib is optional (``pip install 'blindiqa[plot]'``): without it the chart is
skipped and the markdown says so.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from blindiqa.io.atomic import write_bytes_atomic, write_text_atomic

#: The paper's CLIVE numbers (method.md; full CLIVE test set, ResNet-50, 10,000 AVA photos).
PAPER_CLIVE = {"srcc": 0.51, "plcc": 0.52}

CHART_FILE = "ablation.png"


def format_value(x: float | None, spec: str = ".4f") -> str:
    """``x`` formatted with ``spec``; ``-`` for None or NaN."""
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


class Column(NamedTuple):
    """One column of a results table: its header, markdown alignment, and the cell of a
    result ``r`` on dataset ``name`` with metrics ``m``."""

    header: str
    align: str
    cell: Callable[[Any, str, dict[str, Any]], str]


_f = format_value
#: The columns of every results table, by name (see :func:`results_table`).
COLUMNS = {
    "variant": Column("variant", "---", lambda r, name, m: r.variant.label),
    "dataset": Column("dataset", "---", lambda r, name, m: name),
    "n": Column("n", "---:", lambda r, name, m: str(m.get("n", "-"))),
    "srcc": Column("SRCC", "---:", lambda r, name, m: _f(m.get("srcc"))),
    "plcc": Column("PLCC", "---:", lambda r, name, m: _f(m.get("plcc"))),
    "krcc": Column("KRCC", "---:", lambda r, name, m: _f(m.get("krcc"))),
    "steps": Column("steps", "---:", lambda r, name, m: str(r.steps)),
    "epochs": Column("epochs", "---:", lambda r, name, m: _f(r.epochs, ".2f")),
    "minutes": Column("train min", "---:", lambda r, name, m: _f(r.train_minutes, ".1f")),
    "mi": Column("MI (nats)", "---:", lambda r, name, m: _f(r.mi, ".4g")),
    "simsiam": Column("SimSiam", "---:", lambda r, name, m: _f(r.simsiam, ".3f")),
    "feat_std": Column("feat std", "---:", lambda r, name, m: _f(r.feat_std, ".4f")),
}
#: The columns of ``results.md``.
REPORT_COLUMNS = ("variant", "dataset", "n", "srcc", "plcc", "krcc", "steps", "epochs",
                  "minutes", "mi", "simsiam", "feat_std")


def results_table(results: Sequence[Any], columns: Sequence[Column]) -> list[str]:
    """A markdown table of ``results``: one row per result and dataset (one ``-`` row for
    a result without metrics)."""
    lines = ["| " + " | ".join(c.header for c in columns) + " |",
             "|" + "|".join(c.align for c in columns) + "|"]
    for r in results:
        for name, m in (r.metrics or {"-": {}}).items():
            lines.append("| " + " | ".join(c.cell(r, name, m) for c in columns) + " |")
    return lines


def results_markdown(results: Sequence[Any], context: dict[str, Any], chart: bool) -> str:
    """The report as markdown (one table row per variant and dataset)."""
    lines = ["# Ablation: what each training stage adds", ""]
    lines.append(
        f"Encoder `{context.get('encoder')}` (layer `{context.get('layer')}`, input "
        f"normalisation `{context.get('normalization')}`), Stage-1 weights "
        f"`{context.get('init')}`; pristine corpus: {context.get('pristine_images')} "
        f"images.")
    if context.get("budget_minutes"):
        cut = [r.variant.label for r in results
               if getattr(r, "stopped", None) in ("max_steps", "max_minutes")]
        lines.append(
            f"Runs sized to a budget of {context['budget_minutes']:g} min "
            f"(this session: {context.get('wall_minutes', 0):.1f} min): "
            + (f"cut short by it ({', '.join(cut)}), a smoke test" if cut
               else "every run finished its epochs")
            + "; not the paper's setting (5 epochs of 10,000 photos, 256-px crops, "
            "ResNet-50).")
    if context.get("limit"):
        lines.append(f"Each dataset limited to its first {context['limit']} images.")
    if context.get("train"):
        lines.append("Stage-2 settings: " + ", ".join(
            f"`{k}={v}`" for k, v in sorted(context["train"].items())) + ".")
    lines.append("")
    lines += results_table(results, [COLUMNS[c] for c in REPORT_COLUMNS])
    lines += [
        "",
        "SRCC and KRCC are absolute values (scores are distances, lower = better, while "
        "MOS is higher = better); PLCC after the 4-parameter logistic fit. MI: the "
        "CLUB estimate of the run, SimSiam its loss and feat std its collapse check, each "
        "averaged over the last 10 logged steps (MI needs the q of an MI run). "
        "feat std: the per-dimension std of the L2-normalised encoder outputs, about "
        "1/sqrt(d) when healthy and 0 when collapsed.",
        "",
        f"The paper (full CLIVE, ResNet-50): SRCC {PAPER_CLIVE['srcc']}, PLCC "
        f"{PAPER_CLIVE['plcc']} for the full method; its poster orders the variants "
        "synthetic only < + authentic < + MI (log-likelihood) < + MI (contrastive).",
        "",
        f"![ablation]({CHART_FILE})" if chart else
        "(No chart: matplotlib is not installed; `pip install 'blindiqa[plot]'`.)",
        ""]
    return "\n".join(lines)


def plot_ablation(path: Path, results: Sequence[Any], title_note: str = "") -> bool:
    """Draw the bar chart (PNG, atomically).

    Returns:
        False (nothing written) where matplotlib is missing or there is nothing to draw.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return False
    datasets = sorted({d for r in results for d in r.metrics})
    if not datasets:
        return False
    import io

    fig = Figure(figsize=(2.6 + 1.7 * len(results), 4.2 * len(datasets)), dpi=130)
    FigureCanvasAgg(fig)
    blues = ["#c6dbef", "#6baed6", "#2171b5", "#08306b"]
    oranges = ["#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"]
    for row, name in enumerate(datasets):
        ax = fig.add_subplot(len(datasets), 1, row + 1)
        labels, srcc, plcc = [], [], []
        for r in results:
            m = r.metrics.get(name)
            if m is None:
                continue
            labels.append(r.variant.label.replace(" (", "\n("))
            srcc.append(m["srcc"])
            plcc.append(m["plcc"])
        xs = range(len(labels))
        w = 0.38
        b1 = ax.bar([x - w / 2 for x in xs], srcc, w, label="|SRCC|",
                    color=[blues[i % 4] for i in xs], edgecolor="#08306b", linewidth=0.8)
        b2 = ax.bar([x + w / 2 for x in xs], plcc, w, label="PLCC",
                    color=[oranges[i % 4] for i in xs], edgecolor="#7f2704", linewidth=0.8,
                    hatch="//")
        for bars in (b1, b2):
            for bar in bars:
                h = bar.get_height()
                ax.annotate(f"{h:.3f}", (bar.get_x() + bar.get_width() / 2, h),
                            xytext=(0, 3), textcoords="offset points", ha="center",
                            va="bottom", fontsize=9, fontweight="bold")
        values = [v for v in srcc + plcc if v == v]
        lo = min(values) if values else 0.0
        hi = max(values) if values else 1.0
        ax.set_ylim(max(0.0, lo - 0.15 * max(hi - lo, 0.1) - 0.05), min(1.0, hi + 0.08))
        ax.set_xticks(list(xs))
        ax.set_xticklabels(labels, fontsize=9)
        ax.set_ylabel("correlation with MOS")
        ax.set_title(f"{name}: |SRCC| and PLCC with MOS{title_note}", fontsize=12,
                     fontweight="bold")
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
        ax.legend(loc="upper left", fontsize=9, frameon=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    write_bytes_atomic(path, buf.getvalue())
    return True


def write_report(out: Path, results: Sequence[Any], context: dict[str, Any]) -> None:
    """Write ``results.json``, ``ablation.png`` (if matplotlib) and ``results.md``."""
    payload = {"context": context, "variants": [r.to_json() for r in results]}
    write_text_atomic(out / "results.json", json.dumps(payload, indent=2) + "\n")
    cut = any(getattr(r, "stopped", None) in ("max_steps", "max_minutes") for r in results)
    note = " (smoke test)" if cut else ""
    chart = plot_ablation(out / CHART_FILE, results, note)
    write_text_atomic(out / "results.md", results_markdown(results, context, chart))
