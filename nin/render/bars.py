"""Horizontal bar charts as HTML: one row and one stylesheet for every bar chart on the page.

The pooled scores of the GAP panel (`nin.render.heatmaps`), the parameter counts (`nin.render.lesson_panels`) and
the model report's accuracies (`nin.render.report_panels`) are all rows of a name, a track holding a bar, a
value and sometimes a detail. `bar_row` draws one; nin/ui/static/bars.css styles them all, each chart setting only its
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


