"""The model report as HTML: accuracy in context, per-class bars, a clickable confusion matrix, a cell's examples.

Takes a nin.metrics_file.Report (numbers and images read from weights/) and returns HTML strings for gr.HTML,
styled by nin/ui/static/report.css. Every text is escaped. The matrix scrolls sideways on a phone; its cells carry
data-true / data-pred and an id from nin.metrics_file.cell_id, so the app can turn a click into a request for
that cell's examples (nin/ui/static/confusion_click.js). numpy and HTML only: no torch, no file reading.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import numpy as np

from nin.render.bars import bar_row
from nin.render.heatmaps import hex_colour, png_data_uri
from nin.metrics_file import CONTEXT, MIN_CLASS_ACC, Report, cell_id, device_text, file_slug, per_class_rows, percent



def _accuracy_row(name: str, value: float | None, detail: str, tone: str = "", n: int = 10_000) -> str:
    """An accuracy over n images as a bar of the whole track (100 %); "–" when there is none."""
    return bar_row(name, value or 0.0, "–" if value is None else percent(value, n), detail=detail, tone=tone)


DRAWN_PER_STYLE = 1_000  # drawings per style in the drawn test set (nin.train.drawings)


@dataclass(frozen=True)
class Phase:
    """One phase of a file's training as the report charts it."""

    name: str                 # "A", "B", … ("" for a one-phase run)
    input_size: int
    epochs: int               # epochs the phase ran
    first_epoch: int          # its first epoch, counted over the whole training (1-based)
    points: tuple             # its EpochPoints, recorded per epoch; () when only its end was recorded
    end_test_acc: float | None = None  # the phase's final test accuracy, when its epochs were not recorded


def training_phases(report: Report, phases: list[dict] | None = None) -> list[Phase]:
    """Every phase of the file's training in order, numbered on one epoch axis. `phases` is the run header's
    list (metrics.json "run" → "phases"): a phase given by --init has no per-epoch rows in this file, only
    its end. Without it, one phase per recorded phase letter (or one phase for a one-phase run)."""
    by_phase: dict[str, list] = {}
    for p in report.epochs:
        by_phase.setdefault(p.phase or "", []).append(p)
    # This file's rows belong to the last headers of their letter: a file trained from an earlier one repeats
    # letters (C and D again), and the earlier ones' rows live in that file's own record.
    headers = list(phases or [])
    owned: list[tuple] = [()] * len(headers)
    for i in reversed(range(len(headers))):
        if not headers[i].get("given_by_init"):
            owned[i] = tuple(by_phase.pop(str(headers[i].get("phase", "")), []))
    out, first = [], 1
    for header, points in zip(headers, owned):
        name = str(header.get("phase", ""))
        recipe = header.get("recipe") or {}
        epochs = len(points) or int(recipe.get("epochs") or 0) or 1
        size = int(header.get("input_size") or recipe.get("input_size") or (points[0].input_size if points else 224))
        out.append(Phase(name, size, epochs, first, points, None if points else header.get("test_acc")))
        first += epochs
    for name, points in by_phase.items():  # rows of phases the header does not list
        out.append(Phase(name, points[0].input_size, len(points), first, tuple(points)))
        first += len(points)
    return out


def drawn_styles(report: Report) -> list[str]:
    """The drawn test set's styles measured for this file (at publish time or per epoch), in a stable order."""
    styles = dict.fromkeys(report.drawn_accuracy)
    for p in report.epochs:
        styles.update(dict.fromkeys(p.drawn_acc))
    return list(styles)


def epoch_span(phase: Phase) -> str:
    """The phase's epochs over the whole training: "8–9", or "10" for a one-epoch phase."""
    last = phase.first_epoch + phase.epochs - 1
    return str(last) if phase.epochs == 1 else f"{phase.first_epoch}–{last}"


def epoch_label(phase: Phase, k: int | None, size: int) -> str:
    """The x-axis label of one epoch: its number over the whole training, its phase and input size."""
    where = f"{phase.name} " if phase.name else ""
    if k is None:
        return f"{epoch_span(phase)} {where}{size}px (end)"
    return f"{phase.first_epoch + k} {where}{size}px"


def curve_rows(report: Report, phases: list[Phase]) -> tuple[list[dict], list[str]]:
    """Long-form rows for gr.LinePlot (x "epoch" as an ordered label, y "accuracy", color "series") over every
    phase, and the x labels in order: train and test accuracy per epoch, the drawn test set per style where it
    was measured, a phase known only by its end as one test point, and the human and d2l lines for context.
    A series measured at one epoch only is left out (a line plot draws one point as nothing, yet lists it in
    its legend); `phases_caption` names it, and the table of every epoch shows it."""
    rows, order = [], []
    for phase in phases:
        if not phase.points:
            if phase.end_test_acc is not None:
                label = epoch_label(phase, None, phase.input_size)
                order.append(label)
                rows.append({"epoch": label, "accuracy": float(phase.end_test_acc), "series": "test acc"})
            continue
        for k, p in enumerate(phase.points):
            label = epoch_label(phase, k, p.input_size)
            order.append(label)
            rows.append({"epoch": label, "accuracy": p.train_acc, "series": "train acc"})
            rows.append({"epoch": label, "accuracy": p.test_acc, "series": "test acc"})
            for style, acc in p.drawn_acc.items():
                rows.append({"epoch": label, "accuracy": float(acc), "series": f"drawn test: {style}"})
    single = set(single_point_series(phases))
    rows = [r for r in rows if r["series"] not in single]
    if order:
        for name, value, _ in CONTEXT:
            rows += [{"epoch": order[0], "accuracy": value, "series": name},
                     {"epoch": order[-1], "accuracy": value, "series": name}]
    return rows, order


def short_title(title: str) -> str:
    """A picker title cut to its name, for a chart legend: "Tuned: 160 px, …" -> "Tuned"."""
    return title.split(":")[0].split(" (")[0].strip() or title


def compare_rows(files: list[tuple[str, list[Phase]]]) -> tuple[list[dict], list[str]]:
    """Long-form rows for one gr.LinePlot of several files' test accuracy, and the x labels in order: x "epoch"
    is each epoch's number over its file's whole training (as a label, so the axis reads 1, 2, 3), y
    "accuracy", color "series" the file's short title. Every recorded epoch is a point, a phase known only by
    its end is one point at its last epoch, and the human and d2l lines run across the longest training."""
    rows = []
    for title, phases in files:
        name = short_title(title)
        for phase in phases:
            if not phase.points and phase.end_test_acc is not None:
                rows.append({"epoch": phase.first_epoch + phase.epochs - 1, "accuracy": float(phase.end_test_acc),
                             "series": name})
            rows += [{"epoch": phase.first_epoch + k, "accuracy": float(p.test_acc), "series": name}
                     for k, p in enumerate(phase.points)]
    if not rows:
        return [], []
    last = max(r["epoch"] for r in rows)
    rows += [{"epoch": epoch, "accuracy": value, "series": name} for name, value, _ in CONTEXT for epoch in (1, last)]
    return [{**r, "epoch": str(r["epoch"])} for r in rows], [str(n) for n in range(1, last + 1)]


def single_point_series(phases: list[Phase]) -> list[str]:
    """The chart's series with one point only, in the order they appear (test acc counts each phase's end)."""
    counts: dict[str, int] = {}
    for phase in phases:
        if not phase.points:
            if phase.end_test_acc is not None:
                counts["test acc"] = counts.get("test acc", 0) + 1
            continue
        for p in phase.points:
            for series in ("train acc", "test acc", *(f"drawn test: {style}" for style in p.drawn_acc)):
                counts[series] = counts.get(series, 0) + 1
    return [series for series, count in counts.items() if count == 1]


def y_range(rows: list[dict]) -> list[float]:
    """A y range that shows the curves: the plotted values with a margin, on a 0.05 grid, within [0, 1]."""
    values = [r["accuracy"] for r in rows]
    if not values:
        return [0.0, 1.0]
    low, high = math.floor((min(values) - 0.02) * 20) / 20, math.ceil((max(values) + 0.02) * 20) / 20
    return [max(0.0, low), min(1.0, high)]


def _spans(numbers: list[int]) -> str:
    """[1, 2, 3, 5, 8, 9] -> "1–3, 5, 8–9"."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in runs)


def phases_caption(phases: list[Phase]) -> str:
    """Where each phase starts and at what input size, then, once each, which epochs the file records by a
    phase's end only and which series are in the table rather than on the chart (one point each)."""
    groups: list[tuple[int, list[str]]] = []  # runs of phases at one input size: the size is said once a run
    for phase in phases:
        item = f"{phase.name} {epoch_span(phase)}" if phase.name else epoch_span(phase)
        if groups and groups[-1][0] == phase.input_size:
            groups[-1][1].append(item)
        else:
            groups.append((phase.input_size, [item]))
    named = any(phase.name for phase in phases)
    caption = ("Epochs by phase: " if named else "Epochs ") + "; ".join(
        f"{', '.join(items)} at {size} px" for size, items in groups) + "."
    ends_only = [n for phase in phases if not phase.points
                 for n in range(phase.first_epoch, phase.first_epoch + phase.epochs)]
    if ends_only and len(ends_only) < sum(phase.epochs for phase in phases):
        caption += (f" Epochs {_spans(ends_only)}: this file records only each phase's end, one test accuracy "
                    "per phase.")
    elif ends_only:
        caption += " This file records only each phase's end, one test accuracy per phase."
    single = single_point_series(phases)
    if single:
        caption += (f" Measured at one epoch only, so in the table below rather than on the chart: "
                    f"{', '.join(single)}.")
    return caption


def summary_html(report: Report, phases: list[Phase] | None = None) -> str:
    """This file's test accuracy, and the drawn test set's and people's doodles' where measured, beside the
    human baseline and the d2l chapter's result, as bars."""
    where = f"GPU: {report.device_name}" if report.trained_on_gpu else device_text(report.device_name)
    phases = phases if phases is not None else training_phases(report)
    epochs = sum(p.epochs for p in phases) or len(report.epochs)
    sizes = " → ".join(dict.fromkeys(f"{p.input_size}" for p in phases))
    facts = (f"{epochs} epoch{'s' if epochs != 1 else ''} at {sizes} px"
             + (f" in {len(phases)} phases" if len(phases) > 1 else "") + f", last trained on {where}")
    rows = [_accuracy_row("this model", report.accuracy, f"{report.n:,} official test images, fp32", "top",
                          report.n)]
    rows += [_accuracy_row(f"drawn: {style}", acc, f"{DRAWN_PER_STYLE:,} test images drawn as {style}s", "top",
                           DRAWN_PER_STYLE) for style, acc in report.drawn_accuracy.items()]
    if report.doodle_accuracy is not None:
        rows.append(_accuracy_row("people's doodles", report.doodle_accuracy,
                                  f"{report.doodle_n} drawings by Quick, Draw! players (CC BY 4.0 Google), "
                                  "Medium brush", "top", report.doodle_n))
    rows += [_accuracy_row(label, value, source, "muted", 1_000) for label, value, source in CONTEXT]
    return (f'<div class="nin-rep nin-rep-summary" data-file="{html.escape(report.name)}">'
            f'<p class="nin-rep-facts">{html.escape(facts)}</p>{"".join(rows)}</div>')


def per_class_html(report: Report) -> str:
    """Per-class accuracy as a bar table; a class under MIN_CLASS_ACC (50 %) is marked weak. Where the drawn
    test set was measured, each class's drawn accuracy per style follows its right / total."""
    rows = []
    for i, r in enumerate(per_class_rows(report)):
        drawn = [f"drawn {style} {percent(accs[i], DRAWN_PER_STYLE // 10)}"
                 for style, accs in report.drawn_per_class.items() if i < len(accs) and accs[i] is not None]
        if i < len(report.doodle_per_class) and report.doodle_per_class[i] is not None:
            drawn.append(f"doodles {percent(report.doodle_per_class[i], digits=0)}")
        detail = " · ".join([f"{r['correct']:,} / {r['total']:,}", *drawn])
        rows.append(_accuracy_row(r["class"], r["accuracy"], detail,
                                  "weak" if r["accuracy"] is not None and r["accuracy"] < MIN_CLASS_ACC else "",
                                  r["total"] or 1))
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
    # The caption sits above the scrolling box, not in the table: on a phone the table scrolls sideways under
    # a faded edge, and a caption inside it would be cut off.
    return (f'<p class="nin-rep nin-cm-caption">Rows: true class · columns: predicted · the outlined diagonal is '
            f'right. Colour: share of the true class (square-root scale). Click a count to see its test images.</p>'
            f'<div class="nin-rep nin-cm-wrap" data-file="{html.escape(report.name)}">'
            f'<table class="nin-cm" id="cm-{file_slug(report.name)}">'
            f'<thead><tr><th class="nin-cm-corner" scope="col">true ↓ / predicted →</th>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def examples_html(report: Report, true_idx: int, pred_idx: int, examples: list[tuple[np.ndarray, int]]) -> str:
    """A strip of a cell's test images (from nin.metrics_file.confusion_examples), each captioned with its test index."""
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


def curves_table_html(report: Report, phases: list[Phase] | None = None) -> str:
    """Every epoch of every phase as a table: epoch, phase, input size, loss, train and test accuracy, and the
    drawn test set per style where it was measured; a phase known only by its end is one row."""
    phases = phases if phases is not None else training_phases(report)
    styles = drawn_styles(report)
    n_test = report.n
    head = ("<th>epoch</th><th>phase</th><th>input size</th><th>loss</th><th>train acc</th><th>test acc</th>"
            + "".join(f"<th>drawn: {html.escape(style)}</th>" for style in styles))
    rows = []
    for phase in phases:
        if not phase.points:
            test = "–" if phase.end_test_acc is None else percent(float(phase.end_test_acc), n_test)
            rows.append(f"<tr><td>{epoch_span(phase)}</td><td>{html.escape(phase.name)}</td>"
                        f"<td>{phase.input_size} px</td><td>–</td><td>–</td><td>{test} (end)</td>"
                        + "<td>–</td>" * len(styles) + "</tr>")
            continue
        for k, p in enumerate(phase.points):
            size = f"{p.input_size} px" + (f" <small>({p.fraction:.0%})</small>" if p.fraction != 1 else "")
            drawn = "".join(f"<td>{percent(p.drawn_acc[s], DRAWN_PER_STYLE) if s in p.drawn_acc else '–'}</td>"
                            for s in styles)
            rows.append(f"<tr><td>{phase.first_epoch + k}</td><td>{html.escape(phase.name)}</td><td>{size}</td>"
                        f"<td>{p.loss:.3f}</td><td>{percent(p.train_acc, 1_000)}</td>"
                        f"<td>{percent(p.test_acc, n_test)}</td>{drawn}</tr>")
    rows = "".join(rows)
    note = ("Test accuracy per epoch is measured at that epoch's input size; the headline figure is the fp32 "
            "evaluation at the serving size." if len({p.input_size for p in phases}) > 1 else "")
    return (f'<div class="nin-rep nin-rep-curves nin-scroll"><table class="nin-rep-table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{rows}</tbody></table>' + (f'<p class="nin-rep-note">{html.escape(note)}</p>' if note else "")
            + "</div>")


