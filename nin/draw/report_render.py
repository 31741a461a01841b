"""The model report as HTML: accuracy in context, per-class bars, a clickable confusion matrix, a cell's examples.

Takes a nin.metrics.Report (numbers and images read from weights/) and returns HTML strings for gr.HTML,
styled by REPORT_CSS. Every text is escaped. The matrix scrolls sideways on a phone; its cells carry
data-true / data-pred and an id from nin.metrics.cell_id, so the app can turn a click into a request for
that cell's examples (see CONFUSION_CLICK_JS). numpy and HTML only: no torch, no file reading.
"""

from __future__ import annotations

import html
import math

import numpy as np

from nin.draw.bars import bar_row
from nin.draw.render import hex_colour, png_data_uri
from nin.metrics import CONTEXT, MIN_CLASS_ACC, Report, cell_id, file_slug, per_class_rows

# For gr.HTML(js_on_load=...): a click (or Enter) on a matrix cell fires the component's `select` event with
# index [true, predicted], so `def handler(evt: gr.SelectData)` gets evt.index. Check it in a browser test.
CONFUSION_CLICK_JS = """
const pick = (e) => {
  const td = e.target.closest('td[data-true]');
  if (!td || (e.type === 'keydown' && e.key !== 'Enter')) return;
  trigger('select', {index: [Number(td.dataset.true), Number(td.dataset.pred)], value: td.id});
};
element.addEventListener('click', pick);
element.addEventListener('keydown', pick);
"""


def _accuracy_row(name: str, value: float | None, detail: str, tone: str = "") -> str:
    """An accuracy as a bar of the whole track (1.0), printed to 3 places; "–" when there is none."""
    return bar_row(name, value or 0.0, "–" if value is None else f"{value:.3f}", detail=detail, tone=tone)


def summary_html(report: Report) -> str:
    """This file's test accuracy beside the human baseline and the d2l chapter's result, as bars."""
    where = f"GPU: {report.device_name}" if report.trained_on_gpu else report.device_name
    epochs = len(report.epochs)
    sizes = " → ".join(str(p.input_size) for p in report.epochs) if report.sizes_varied else ""
    facts = (f"{report.recipe.get('name', '?')} recipe, {epochs} epoch{'s' if epochs != 1 else ''}"
             + (f" at {sizes} px" if sizes else "") + f", trained on {where}")
    rows = [_accuracy_row("this model", report.accuracy, f"{report.n:,} official test images, fp32", "top")]
    rows += [_accuracy_row(label, value, source, "muted") for label, value, source in CONTEXT]
    return (f'<div class="nin-rep nin-rep-summary" data-file="{html.escape(report.name)}">'
            f'<p class="nin-rep-facts">{html.escape(facts)}</p>{"".join(rows)}</div>')


def per_class_html(report: Report) -> str:
    """Per-class accuracy as a bar table; a class under MIN_CLASS_ACC (50 %) is marked weak."""
    rows = [_accuracy_row(r["class"], r["accuracy"], f"{r['correct']:,} / {r['total']:,}",
                          "weak" if r["accuracy"] is not None and r["accuracy"] < MIN_CLASS_ACC else "")
            for r in per_class_rows(report)]
    return (f'<div class="nin-rep nin-rep-classes"><div class="nin-rep-title">Accuracy per class '
            f'(right / test images of that class)</div>{"".join(rows)}</div>')


def _cell_colours(share: float) -> tuple[str, str]:
    """Viridis on the square root of the share of the row: the errors (a few %) stay visible beside the
    diagonal (~90 %). Dark text on the light end."""
    scaled = math.sqrt(max(0.0, min(1.0, share)))
    return hex_colour(scaled, 1.0), "#000" if scaled > 0.6 else "#fff"


def confusion_html(report: Report, selected: tuple[int, int] | None = None) -> str:
    """The confusion matrix as a table: rows true class, columns predicted, every count printed.

    Each non-empty cell is a button-like <td> with id cell_id(file, i, j), data-true, data-pred and
    data-count; the diagonal has class nin-cm-diag, `selected` gets nin-cm-selected.
    """
    names = report.class_names
    totals = report.confusion.sum(1)
    head = "".join(f'<th scope="col" class="nin-cm-col" title="predicted {html.escape(n)}">'
                   f'<span>{html.escape(n)}</span></th>' for n in names)
    body = []
    for i, true_name in enumerate(names):
        tds = []
        for j, pred_name in enumerate(names):
            count = int(report.confusion[i, j])
            classes = ["nin-cm-cell"] + (["nin-cm-diag"] if i == j else []) + \
                (["nin-cm-selected"] if selected == (i, j) else [])
            what = (f"{true_name} recognised: {count:,} of {int(totals[i]):,}" if i == j else
                    f"{true_name} taken for {pred_name}: {count:,} of {int(totals[i]):,}")
            attrs = (f'id="{cell_id(report.name, i, j)}" data-true="{i}" data-pred="{j}" data-count="{count}" '
                     f'title="{html.escape(what)}"')
            if count == 0:
                tds.append(f'<td {attrs} class="{" ".join(classes + ["nin-cm-zero"])}">·</td>')
                continue
            background, text = _cell_colours(count / totals[i] if totals[i] else 0.0)
            tds.append(f'<td {attrs} class="{" ".join(classes)}" role="button" tabindex="0" '
                       f'aria-label="{html.escape(what)}" style="background:{background};color:{text}">{count}</td>')
        body.append(f'<tr><th scope="row" class="nin-cm-row">{html.escape(true_name)}</th>{"".join(tds)}</tr>')
    return (f'<div class="nin-rep nin-cm-wrap" data-file="{html.escape(report.name)}">'
            f'<table class="nin-cm" id="cm-{file_slug(report.name)}">'
            f'<caption>Rows: true class · columns: predicted · the outlined diagonal is right. '
            f'Colour: share of the true class (square-root scale). Click a count to see its test images.</caption>'
            f'<thead><tr><th class="nin-cm-corner" scope="col">true ↓ / predicted →</th>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def examples_html(report: Report, true_idx: int, pred_idx: int, examples: list[tuple[np.ndarray, int]]) -> str:
    """A strip of a cell's test images (from nin.metrics.confusion_examples), each captioned with its test index."""
    true_name, pred_name = report.class_names[true_idx], report.class_names[pred_idx]
    count = report.count(true_idx, pred_idx)
    what = (f"{true_name} recognised as {true_name}" if true_idx == pred_idx else
            f"{true_name} taken for {pred_name}")
    if count == 0:
        caption = f"{what}: no test image."
    elif not examples:
        caption = f"{what}: {count:,} test images; no examples were published with this file."
    else:
        caption = (f"{what}: {count:,} test image{'s' if count != 1 else ''}"
                   + (f"; the first {len(examples)} by test index" if count > len(examples) else "") + ".")
    figures = "".join(
        f'<figure class="nin-ex"><img src="{png_data_uri(image)}" width="56" height="56" '
        f'alt="{html.escape(f"official test image {index}, a {true_name}")}">'
        f'<figcaption>#{index}</figcaption></figure>'
        for image, index in examples)
    return (f'<div class="nin-rep nin-ex-strip" data-true="{true_idx}" data-pred="{pred_idx}">'
            f'<p class="nin-ex-caption">{html.escape(caption)}</p><div class="nin-ex-row">{figures}</div></div>')


def curves_table_html(report: Report) -> str:
    """The per-epoch curves as a table: epoch, input size (when it varied), loss, train and test accuracy."""
    show_size = report.sizes_varied
    head = "<th>epoch</th>" + ("<th>size</th>" if show_size else "") + \
        "<th>loss</th><th>train acc</th><th>test acc</th>"
    rows = "".join(
        f"<tr><td>{p.epoch}</td>" + (f"<td>{p.input_size}"
                                     + (f" <small>({p.fraction:.0%})</small>" if p.fraction != 1 else "") + "</td>"
                                     if show_size else "")
        + f"<td>{p.loss:.3f}</td><td>{p.train_acc:.3f}</td><td>{p.test_acc:.3f}</td></tr>"
        for p in report.epochs)
    note = ("Test accuracy per epoch is measured at that epoch's input size; the headline figure is the fp32 "
            "evaluation at the serving size." if show_size else "")
    return (f'<div class="nin-rep nin-rep-curves"><table class="nin-rep-table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{rows}</tbody></table>' + (f'<p class="nin-rep-note">{html.escape(note)}</p>' if note else "")
            + "</div>")


# The accuracy bars are styled by nin.draw.bars.BARS_CSS.
REPORT_CSS = """
.nin-rep { font-size: 14px; }
.nin-rep-facts { margin: 0 0 6px 0; }
.nin-rep-title { font-weight: 600; margin-bottom: 4px; }
.nin-cm-wrap { overflow-x: auto; max-width: 100%; -webkit-overflow-scrolling: touch; }
.nin-cm { border-collapse: separate; border-spacing: 2px; font-variant-numeric: tabular-nums; }
.nin-cm caption { caption-side: top; text-align: left; font-size: 12px; padding-bottom: 4px; max-width: 90vw; }
.nin-cm th { font-size: 12px; font-weight: 600; }
.nin-cm-row { position: sticky; left: 0; z-index: 1; background: var(--block-background-fill, #fff); text-align: right;
  padding-right: 4px; white-space: nowrap; }
.nin-cm-corner { position: sticky; left: 0; z-index: 2; background: var(--block-background-fill, #fff);
  font-size: 11px !important; font-weight: 400 !important; vertical-align: bottom; }
.nin-cm-col { vertical-align: bottom; height: 84px; padding: 0; }
.nin-cm-col span { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; }
.nin-cm-cell { min-width: 34px; height: 32px; text-align: center; font-size: 13px; border-radius: 3px; padding: 0 2px; }
.nin-cm-cell[role=button] { cursor: pointer; }
.nin-cm-cell[role=button]:hover, .nin-cm-cell[role=button]:focus { outline: 2px solid var(--color-accent, #f97316); }
.nin-cm-zero { color: var(--body-text-color-subdued, #9ca3af); }
.nin-cm-diag { font-weight: 700; box-shadow: inset 0 0 0 2px #f59e0b; }
.nin-cm-selected { outline: 3px solid var(--color-accent, #f97316); outline-offset: 1px; }
.nin-ex-caption { margin: 4px 0; }
.nin-ex-row { display: flex; flex-wrap: wrap; gap: 6px; }
.nin-ex { margin: 0; text-align: center; }
.nin-ex img { image-rendering: pixelated; display: block; width: 56px; height: 56px; background: #000; }
.nin-ex figcaption { font-size: 11px; font-variant-numeric: tabular-nums; }
.nin-rep-table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
.nin-rep-table th, .nin-rep-table td { padding: 2px 8px; text-align: right; border-bottom: 1px solid var(--border-color-primary, #e5e7eb); }
.nin-rep-note { font-size: 12px; margin: 4px 0; }
@media (max-width: 640px) {
  .nin-cm-cell { min-width: 30px; height: 30px; font-size: 12px; }
}
"""
