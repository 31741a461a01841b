"""Horizontal bar charts as HTML: one row and one stylesheet for every bar chart on the page.

The pooled scores of the GAP panel (`nin.draw.render`), the parameter counts (`nin.draw.lesson_render`) and
the model report's accuracies (`nin.draw.report_render`) are all rows of a name, a track holding a bar, a
value and sometimes a detail. `bar_row` draws one; BARS_CSS styles them all, each chart setting only its
column widths through its container (.nin-bars, .nin-params, .nin-rep). Plain divs on a CSS grid, so a chart
reads on a 390 px phone without a plotting library. Every text is escaped.
"""

from __future__ import annotations

import html

# What a row's colour says: "" the plain blue; "top" the row that matters (orange, bold); "accent" orange
# without the weight (fully-connected layers); "muted" grey (context: other people's figures); "weak" red,
# name bold (a class the model often gets wrong); "hollow" no bar (a layer without parameters).
TONES = ("", "top", "accent", "muted", "weak", "hollow")


def bar_row(name: str, share: float, value: str, *, detail: str | None = None, title: str | None = None,
            tone: str = "") -> str:
    """One labelled bar, `share` (clipped to [0, 1]) of its track wide, so bars compare within one chart."""
    if tone not in TONES:
        raise ValueError(f"tone must be one of {TONES}; got {tone!r}")
    width = 100 * max(0.0, min(1.0, float(share)))
    classes = "nin-bar-row" + (f" nin-bar-{tone}" if tone else "")
    tip = f' title="{html.escape(title)}"' if title else ""
    tail = "" if detail is None else f'<span class="nin-bar-detail">{html.escape(detail)}</span>'
    return (f'<div class="{classes}"{tip}><span class="nin-bar-name">{html.escape(name)}</span>'
            f'<span class="nin-bar-track"><span class="nin-bar" style="width:{width:.1f}%"></span></span>'
            f'<span class="nin-bar-value">{html.escape(value)}</span>{tail}</div>')


BARS_CSS = """
.nin-bar-row { display: grid; grid-template-columns: 92px 1fr 112px; gap: 6px; align-items: center; margin: 3px 0; }
.nin-bar-name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.nin-bar-track { background: var(--neutral-200, #e5e7eb); height: 14px; border-radius: 3px; overflow: hidden; }
.nin-bar { display: block; height: 100%; background: #31688e; }
.nin-bar-value, .nin-bar-detail { font-variant-numeric: tabular-nums; white-space: nowrap; }
.nin-bar-detail { color: var(--body-text-color-subdued, #6b7280); font-size: 12px; overflow: hidden;
  text-overflow: ellipsis; }
.nin-bar-top { font-weight: 700; }
.nin-bar-top .nin-bar, .nin-bar-accent .nin-bar { background: #f59e0b; }
.nin-bar-muted .nin-bar { background: #9ca3af; }
.nin-bar-weak .nin-bar { background: #dc2626; }
.nin-bar-weak .nin-bar-name { font-weight: 700; }
.nin-bar-hollow .nin-bar { background: transparent; }
.nin-params .nin-bar-row { grid-template-columns: minmax(60px, 30%) 1fr 96px; margin: 2px 0; }
.nin-params .nin-bar-track { height: 12px; }
.nin-params .nin-bar { min-width: 1px; }
.nin-params .nin-bar-value { text-align: right; }
.nin-param-totals .nin-bar-row { grid-template-columns: 1fr 96px; row-gap: 0; }
.nin-param-totals .nin-bar-name { grid-column: 1 / -1; white-space: normal; }  /* long names get a line */
.nin-rep .nin-bar-row { grid-template-columns: minmax(84px, 150px) 1fr 46px minmax(0, 220px); }
/* The report's names ("drawn: silhouette") and details (counts, drawn figures) wrap rather than hide. */
.nin-rep .nin-bar-name, .nin-rep .nin-bar-detail { white-space: normal; overflow: visible; overflow-wrap: anywhere; }
@media (max-width: 640px) {
  .nin-bars .nin-bar-row { grid-template-columns: 80px 1fr 100px; }
  .nin-rep .nin-bar-row { grid-template-columns: 84px 1fr 42px; }
  .nin-rep .nin-bar-detail { display: none; }
}
"""
