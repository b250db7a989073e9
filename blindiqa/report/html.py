"""The report page: one self-contained HTML file (inline CSS, JS and SVG; no server, no
network), linking the thumbnails and maps beside it by relative paths.

The cards are written into the page in Python, every text through :func:`html.escape`, so
the page shows everything without script and no file name reaches the page as markup.
The script only reorders the cards (reading their ``data-*`` attributes) and shows a
card's map picture (the plain photo with its quality map beside it) in an overlay, setting
text with ``textContent``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from string import Template

import numpy as np

from blindiqa.report.collect import ReportRow
from blindiqa.viz.maps import quality_text

#: Worst and best images listed apart.
EXTREMES = 20


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _num(value: float | None) -> str:
    """A number for a ``data-*`` attribute (empty for none)."""
    return "" if value is None else repr(float(value))


def format_score(score: float | None) -> str:
    """A score as shown on the page."""
    return "n/a" if score is None else f"{score:.4g}"


def format_quality(quality: float | None) -> str:
    """A 0-100 quality as shown on the page (``n/a`` without a scale): one decimal,
    rounded down, as in the map titles, so a quality below 100 never reads 100."""
    return "n/a" if quality is None else quality_text(quality)


def card(row: ReportRow) -> str:
    """The HTML of one image's card."""
    name = row.name.rsplit("/", 1)[-1] or row.name
    attrs = (f'data-i="{row.index}" data-name="{_esc(row.name)}" '
             f'data-score="{_num(row.score)}" data-quality="{_num(row.quality)}"')
    caption = f'<span class="name" title="{_esc(row.name)}">{_esc(name)}</span>'
    if row.burst is not None:
        attrs += f' data-burst="{row.burst}"'
        caption += burst_badge(row)
    if row.original is not None:
        caption += (f'<a class="original" href="{_esc(row.original)}" target="_blank" '
                    'rel="noopener">original</a>')
    if row.error is not None or row.thumb is None:
        error = row.error or "no picture"
        return (f'<figure class="card failed" {attrs}><div class="nothumb">not scored</div>'
                f'<figcaption>{caption}<span class="error">{_esc(error)}</span>'
                f"</figcaption></figure>")
    img = f'<img src="{_esc(row.thumb)}" alt="" loading="lazy">'
    if row.map is not None:
        img = (f'<a class="map-link" href="{_esc(row.map)}" '
               f'title="show the photo beside its quality map">{img}</a>')
    hue = "" if row.quality is None else f' style="--q:{row.quality:.1f}"'
    return (f'<figure class="card" {attrs}>{img}<figcaption>{caption}'
            f'<span class="quality{"" if hue else " na"}"{hue}>quality '
            f"{format_quality(row.quality)}</span>"
            f'<span class="score">score {format_score(row.score)}</span>'
            f"{reasons_line(row)}</figcaption></figure>")


#: A family is named on a card where its estimated strength is at least this (level 1:
#: KADID-10k's barely visible level).
REASON_SHOWN = 1.0


def reasons_line(row: ReportRow) -> str:
    """A card's reasons: the families of estimated strength >= :data:`REASON_SHOWN`,
    strongest first (``blur 2.4 · noise 1.1``), or ``no distortion family stands out``;
    all six in the title. Nothing for a row without reasons."""
    if not row.reasons:
        return ""
    title = "estimated strength 0-5: " + ", ".join(f"{f} {v:.1f}" for f, v in row.reasons)
    shown = sorted((r for r in row.reasons if r[1] >= REASON_SHOWN), key=lambda r: -r[1])
    text = (" \u00b7 ".join(f"{f} {v:.1f}" for f, v in shown) if shown
            else "no distortion family stands out")
    return f'<span class="reasons" title="{_esc(title)}">{_esc(text)}</span>'



def burst_badge(row: ReportRow) -> str:
    """The burst of a card: ``best of burst 3`` (its best shot) or ``burst 3``, with the
    burst's size in the title; nothing for a burst of one shot."""
    if row.burst is None or (row.burst_size or 0) < 2:
        return ""
    title = f"burst {row.burst}: {row.burst_size} shots"
    if row.burst_best:
        return (f'<span class="burst best" title="{title}, the best of them">best of burst '
                f"{row.burst}</span>")
    return f'<span class="burst" title="{title}">burst {row.burst}</span>'


def extremes(rows: Sequence[ReportRow], n: int = EXTREMES,
             ) -> tuple[list[ReportRow], list[ReportRow]]:
    """The worst (worst first) and best (best first) scored rows: ``n`` of each, at most
    a fifth of the scored rows each, so that in a small set the two lists stay the ends
    of the collection and never repeat each other (none below 5 scored rows).

    Ranked by score (the quality is a monotone function of it); ties in input order.
    """
    scored = sorted((r for r in rows if r.score is not None), key=lambda r: (r.score, r.index))
    worst = sorted(scored, key=lambda r: (-r.score, r.index))
    k = min(n, len(scored) // 5)
    return worst[:k], scored[:k]


def histogram(values: Sequence[float], lo: float, hi: float, bins: int) -> list[int]:
    """Counts of ``values`` in ``bins`` equal bins over ``[lo, hi]`` (the last bin closed)."""
    counts, _ = np.histogram(np.asarray(values, dtype=np.float64), bins=bins, range=(lo, hi))
    return [int(c) for c in counts]


def _bins_for(values: Sequence[float], quality: bool) -> tuple[float, float, int]:
    if quality:
        return 0.0, 100.0, 20
    lo, hi = float(min(values)), float(max(values))
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi, min(20, max(5, math.ceil(math.sqrt(len(values)))))


def histogram_svg(rows: Sequence[ReportRow], quality: bool) -> str:
    """An inline SVG histogram of the rows' qualities (``quality``) or else scores."""
    values = [v for r in rows if (v := r.quality if quality else r.score) is not None]
    if not values:
        return '<p class="note">No image could be scored.</p>'
    lo, hi, bins = _bins_for(values, quality)
    counts = histogram(values, lo, hi, bins)
    width, height, left, bottom, top = 640, 200, 40, 34, 12
    plot_w, plot_h = width - left - 12, height - bottom - top
    bar_w, peak = plot_w / bins, max(counts)
    what = "quality (0-100, higher is better)" if quality else "score (lower is better)"
    parts = [f'<svg class="histogram" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="histogram of the {what}">',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
             'class="axis"/>',
             f'<text x="{left - 6}" y="{top + 10}" text-anchor="end">{peak}</text>',
             f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end">0</text>']
    step = (hi - lo) / bins
    for i, count in enumerate(counts):
        a, b = lo + i * step, lo + (i + 1) * step
        h = plot_h * count / peak
        x = left + i * bar_w
        style = f' style="--q:{(a + b) / 2:.1f}"' if quality else ""
        parts.append(f'<rect class="bar{" q" if quality else ""}"{style} x="{x + 1:.1f}" '
                     f'y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}">'
                     f"<title>{a:.4g} to {b:.4g}: {count} image{'s' * (count != 1)}</title>"
                     "</rect>")
    for i in range(0, bins + 1, max(1, bins // 5)):
        parts.append(f'<text x="{left + i * bar_w:.1f}" y="{top + plot_h + 16}" '
                     f'text-anchor="middle">{lo + i * step:.3g}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 2}" text-anchor="middle" '
                 f'class="label">{what}</text></svg>')
    return "".join(parts)


def _summary(rows: Sequence[ReportRow], model_name: str, scale_note: str | None) -> str:
    n_bad = sum(r.score is None for r in rows)
    scores = [r.score for r in rows if r.score is not None]
    median = f"{float(np.median(scores)):.4g}" if scores else "n/a"
    plural = "s" * (len(rows) != 1)
    failed = (f" {n_bad} could not be scored; they are marked in the gallery." if n_bad
              else "")
    quality = ("Each photo has a <b>quality</b> from 0 to 100: higher is better. Quality "
               "80 means the photo looks better to the model than 80 % of its reference "
               f"photos, ordinary photos it was calibrated on. The reference: "
               f"{_esc(scale_note)}." if scale_note else
               "This model has no 0-100 quality scale, so the histogram shows scores.")
    return (f"<p>{len(rows)} photo{plural}, scored by the model <b>{_esc(model_name)}</b>, "
            f"which never saw anyone's ratings.{failed} {quality} Each photo also has a "
            f"<b>score</b>: how far it is from sharp, clean photos; lower is better (median "
            f"here: {median}). Click a photo to see which parts of it look worst. "
            f'All scores: <a href="{SCORES_CSV}">{SCORES_CSV}</a>.</p>')


#: The score table written beside the page.
SCORES_CSV = "scores.csv"


def render_page(rows: Sequence[ReportRow], *, model_name: str, scale_note: str | None = None,
                title: str = "blindiqa report", n_extremes: int = EXTREMES) -> str:
    """The report page.

    Args:
        rows: the images, in input order.
        model_name: the model that scored them.
        scale_note: what the quality scale's reference photos are (``"500 photos: X"``),
            or None where the model has no scale.
        title: the page's title.
        n_extremes: how many worst and best images to list apart.
    """
    worst, best = extremes(rows, n_extremes)
    quality = scale_note is not None
    sort_keys = (("i", "input order"), *((("quality", "quality"),) if quality else ()),
                 ("score", "score"), ("name", "name"),
                 *((("burst", "burst"),) if any(r.burst is not None for r in rows) else ()))
    buttons = "".join(f'<button type="button" data-sort="{k}" aria-pressed="false">{label}'
                      '<span class="dir"></span></button>' for k, label in sort_keys)
    n_scored = sum(r.score is not None for r in rows)
    ends = "" if not worst else (
        f'<section id="worst-section"><h2>Worst {len(worst)} of {n_scored}</h2>'
        f'<div class="strip" id="worst">{"".join(card(r) for r in worst)}</div></section>'
        f'<section id="best-section"><h2>Best {len(best)} of {n_scored}</h2>'
        f'<div class="strip" id="best">{"".join(card(r) for r in best)}</div></section>')
    slider = "" if not quality else (
        '<div class="filter"><label for="min-quality">Show quality at least</label> '
        '<input type="range" id="min-quality" min="0" max="100" step="1" value="0"> '
        '<output id="min-quality-value" for="min-quality">0</output> '
        f'<span id="shown" aria-live="polite">{len(rows)} of {len(rows)} shown</span></div>')
    return _PAGE.substitute(
        title=_esc(title), css=_CSS, js=_JS, summary=_summary(rows, model_name, scale_note),
        histogram_title="Quality of the collection" if quality else "Scores of the collection",
        histogram=histogram_svg(rows, quality), extremes=ends, slider=slider,
        n_all=len(rows), buttons=buttons, gallery="".join(card(r) for r in rows))


_PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>$title</title>
<style>$css</style>
</head>
<body>
<header><h1>$title</h1>$summary</header>
<section id="histogram-section"><h2>$histogram_title</h2>$histogram</section>
$extremes
<section id="all-section"><h2>All $n_all</h2>
<div class="sort" role="group" aria-label="sort the gallery">Sort by: $buttons
<span id="sort-state" aria-live="polite">input order</span></div>
$slider
<div class="gallery" id="gallery">$gallery</div></section>
<div id="viewer" class="viewer" hidden role="dialog" aria-modal="true"
 aria-label="the photo beside its quality map">
<div class="viewer-box"><button type="button" id="viewer-close" aria-label="close">&times;</button>
<img id="viewer-img" alt="the photo (left) and its quality map (right)">
<p id="viewer-caption"></p></div></div>
<script>$js</script>
</body>
</html>
""")

_CSS = """
:root { color-scheme: light; --fg: #1d2430; --muted: #5b6472; --line: #d8dde5; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
  padding: 0 24px 40px; color: var(--fg); background: #f6f7f9; }
header h1 { margin: 18px 0 4px; font-size: 22px; }
h2 { font-size: 17px; margin: 26px 0 10px; }
.note, header p { color: var(--muted); max-width: 70em; }
.histogram { width: 100%; max-width: 720px; height: auto; background: #fff;
  border: 1px solid var(--line); border-radius: 6px; }
.histogram text { font-size: 11px; fill: var(--muted); }
.histogram .label { font-size: 12px; fill: var(--fg); }
.histogram .axis { stroke: var(--muted); }
.bar { fill: #4a6fa5; }
.bar.q { fill: hsl(calc(var(--q) * 1.2) 60% 45%); }
.bar:hover { opacity: .75; }
.strip { display: grid; grid-template-columns: repeat(auto-fill, minmax(140px, 1fr));
  gap: 8px; }
.strip .card figcaption { font-size: 12px; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr));
  gap: 12px; }
.card { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 6px;
  overflow: hidden; display: flex; flex-direction: column; }
.card img, .nothumb { width: 100%; aspect-ratio: 4 / 3; object-fit: contain; display: block;
  background: #e9ecf1; }
.nothumb { display: flex; align-items: center; justify-content: center; color: #a33;
  font-weight: 600; }
.card figcaption { padding: 6px 8px 8px; display: flex; flex-wrap: wrap; gap: 4px 8px;
  align-items: baseline; }
.card .name { flex-basis: 100%; font-weight: 600; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; }
.quality { padding: 1px 6px; border-radius: 9px; color: #fff; font-weight: 600;
  background: hsl(calc(var(--q) * 1.2) 60% 38%); }
.quality.na { background: #8a93a0; }
.score { color: var(--muted); }
.reasons { flex-basis: 100%; font-size: 12px; color: #7a4b00; }
.error { color: #a33; font-size: 12px; overflow-wrap: anywhere; }
.card.failed { border-color: #e3b4b4; }
a.map-link { cursor: zoom-in; }
.sort { margin-bottom: 12px; display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
.sort button { font: inherit; padding: 3px 10px; border: 1px solid var(--line);
  border-radius: 4px; background: #fff; cursor: pointer; }
.sort button[aria-pressed="true"] { background: var(--fg); color: #fff; }
#sort-state { color: var(--muted); margin-left: 6px; }
.filter { margin-bottom: 12px; display: flex; gap: 8px; align-items: center; }
#min-quality { width: 220px; }
#shown { color: var(--muted); }
.card[hidden] { display: none; }
a.original { font-size: 12px; margin-left: auto; }
.burst { font-size: 12px; color: var(--muted); }
.burst.best { padding: 1px 6px; border-radius: 9px; color: #fff; background: #2f5d8a;
  font-weight: 600; }
.viewer { position: fixed; inset: 0; background: rgba(10, 14, 20, .8); display: flex;
  align-items: center; justify-content: center; z-index: 10; }
.viewer[hidden] { display: none; }
.viewer-box { background: #fff; padding: 12px; border-radius: 6px; max-width: 95vw;
  max-height: 95vh; position: relative; overflow: auto; }
.viewer-box img { max-width: 90vw; max-height: 82vh; display: block; }
#viewer-caption { margin: 8px 0 0; overflow-wrap: anywhere; }
#viewer-close { position: absolute; top: 4px; right: 6px; font-size: 22px; border: 0;
  background: none; cursor: pointer; }
"""

_JS = """
"use strict";
(function () {
  var gallery = document.getElementById("gallery");
  var buttons = Array.prototype.slice.call(document.querySelectorAll("button[data-sort]"));
  var state = document.getElementById("sort-state");
  var key = "i", ascending = true;

  function value(card, k) {
    var v = card.getAttribute(k === "i" ? "data-i" : "data-" + k);
    if (k === "name") { return v; }
    return v === null || v === "" ? null : Number(v);
  }
  function compare(a, b) {
    var x = value(a, key), y = value(b, key);
    if (x === null || y === null) {
      if (x !== y) { return x === null ? 1 : -1; }  // images not scored go last
    } else {
      var c = key === "name" ? x.localeCompare(y) : x - y;
      if (c !== 0) { return ascending ? c : -c; }
    }
    return value(a, "i") - value(b, "i");
  }
  function sortGallery() {
    var cards = Array.prototype.slice.call(gallery.children);
    cards.sort(compare);
    var frag = document.createDocumentFragment();
    cards.forEach(function (c) { frag.appendChild(c); });
    gallery.appendChild(frag);
    buttons.forEach(function (b) {
      var on = b.getAttribute("data-sort") === key;
      b.setAttribute("aria-pressed", on ? "true" : "false");
      b.querySelector(".dir").textContent = on ? (ascending ? " \\u25B2" : " \\u25BC") : "";
    });
    var label = document.querySelector('button[data-sort="' + key + '"]').firstChild;
    state.textContent = label.textContent + ", " + (ascending ? "ascending" : "descending");
  }
  buttons.forEach(function (b) {
    b.addEventListener("click", function () {
      var k = b.getAttribute("data-sort");
      ascending = k === key ? !ascending : true;
      key = k;
      sortGallery();
    });
  });

  var slider = document.getElementById("min-quality");
  if (slider) {
    var shown = document.getElementById("shown");
    var output = document.getElementById("min-quality-value");
    var filterGallery = function () {
      var min = Number(slider.value), cards = gallery.children, n = 0;
      for (var i = 0; i < cards.length; i++) {
        var q = cards[i].getAttribute("data-quality");
        // photos without a quality (not scored) show only while nothing is filtered
        var keep = q === null || q === "" ? min === 0 : Number(q) >= min;
        cards[i].hidden = !keep;
        n += keep ? 1 : 0;
      }
      output.textContent = String(min);
      shown.textContent = n + " of " + cards.length + " shown";
    };
    slider.addEventListener("input", filterGallery);
    filterGallery();
  }

  var viewer = document.getElementById("viewer");
  var viewerImg = document.getElementById("viewer-img");
  var caption = document.getElementById("viewer-caption");
  function closeViewer() { viewer.hidden = true; viewerImg.removeAttribute("src"); }
  document.addEventListener("click", function (e) {
    var link = e.target.closest ? e.target.closest("a.map-link") : null;
    if (link) {
      e.preventDefault();
      var card = link.closest(".card");
      viewerImg.src = link.getAttribute("href");
      var q = card.querySelector(".quality"), s = card.querySelector(".score");
      caption.textContent = card.getAttribute("data-name") + " \\u2014 " +
        (q ? q.textContent + ", " : "") + (s ? s.textContent : "");
      viewer.hidden = false;
    } else if (e.target === viewer || e.target.id === "viewer-close") {
      closeViewer();
    }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && !viewer.hidden) { closeViewer(); }
  });
})();
"""
