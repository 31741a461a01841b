"""The model report as a specification: what publish records, the sprite beside each shipped file, the card.

The shipped-file tests read weights/ as it is (whatever files are published there); the publish tests run
the real `nin.train.publish` code path on a small untrained network at a tiny input size and 200 test images,
so they take seconds, not the minutes of a full evaluation at 224 px.
"""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from nin import metrics_file
from nin.render import report_panels
from nin.data import to_model_input
from nin.files import sha256_of
from nin.model import CLASS_NAMES, NiN, load_weights, preprocessing_of, save_weights, xavier_init_
from nin.train.model_card import model_card, run_folder
from nin.serve.pipeline import WEIGHT_FILES, WEIGHTS_DIR
from nin.train.publish import WeakClassError, confusion_sprite, publish, refresh
from nin.metrics_file import (PER_CELL, Report, accuracy_points, cell_id, confusion_examples, load_report,
                        read_metrics, shipped_reports)

SHIPPED = list(shipped_reports(WEIGHTS_DIR))
TINY = 67  # the least input the NiN takes: publish must not care


def test_every_file_the_app_ships_has_a_report():
    present = [name for name, _ in WEIGHT_FILES if (WEIGHTS_DIR / name).exists()]
    assert set(present) <= set(SHIPPED)
    assert SHIPPED, "no shipped weight file has a report in weights/metrics.json"


# ----------------------------------------------------------------------------- shipped files

@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_sprite_exists_and_holds_the_tiles_its_index_says(name):
    record = read_metrics(WEIGHTS_DIR)["files"][name]["confusion_examples"]
    sprite = WEIGHTS_DIR / record["sprite"]
    assert sprite.name == name.removesuffix(".safetensors") + ".confusion.png"
    assert sha256_of(sprite) == record["sha256"] and sprite.stat().st_size == record["bytes"]
    assert sprite.stat().st_size < 400_000  # it ships in the repo and the Space
    tiles = [tile for row in record["cells"] for cell in row for _, tile in cell]
    assert len(tiles) == record["tiles"] == len(set(tiles))
    with Image.open(sprite) as image:
        assert image.mode == "L"
        width, height = image.size
    assert width == record["columns"] * record["tile_size"] and height % record["tile_size"] == 0
    assert max(tiles) < record["columns"] * height // record["tile_size"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_confusion_examples_are_official_test_images_of_the_true_class(name, official_data):
    report = load_report(WEIGHTS_DIR, name)
    assert report.n == len(official_data.test_labels)
    for i in range(10):
        for j in range(10):
            examples = confusion_examples(report, i, j)
            assert len(examples) == min(PER_CELL, report.count(i, j)), (i, j)
            indices = [index for _, index in examples]
            assert indices == sorted(indices)  # the first ones by test index
            for image, index in examples:
                assert image.shape == (28, 28) and image.dtype == np.uint8
                assert np.array_equal(image, official_data.test_images[index].numpy())
                assert int(official_data.test_labels[index]) == i


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_confusion_examples_are_predicted_as_the_cell_says(name):
    """Re-run the network on two cells' images: the biggest mistake and the weakest class's right answers."""
    report = load_report(WEIGHTS_DIR, name)
    model, metadata = load_weights(WEIGHTS_DIR / name)
    spec = preprocessing_of(metadata)
    weakest = int(np.argmin([a if a is not None else 2 for a in report.per_class_accuracy]))
    mistakes = report.confusion * (1 - np.eye(len(report.class_names), dtype=np.int64))
    biggest = tuple(int(k) for k in np.unravel_index(int(mistakes.argmax()), mistakes.shape))
    cells = [biggest, (weakest, weakest)]
    for i, j in cells:
        examples = confusion_examples(report, i, j)
        if not examples:
            continue
        images = torch.from_numpy(np.stack([image for image, _ in examples]))
        with torch.no_grad():
            predicted = model(to_model_input(images, spec.input_size, spec.mean, spec.std)).argmax(1)
        assert predicted.tolist() == [j] * len(examples), (i, j)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_report_per_class_accuracy_matches_its_confusion_matrix(name):
    report = load_report(WEIGHTS_DIR, name)
    matrix = report.confusion
    assert matrix.shape == (10, 10) and int(matrix.sum()) == report.n
    assert report.accuracy == pytest.approx(np.trace(matrix) / report.n)
    for i, accuracy in enumerate(report.per_class_accuracy):
        assert accuracy == pytest.approx(matrix[i, i] / matrix[i].sum())
    assert report.class_names == CLASS_NAMES


def test_model_card_is_generated_from_metrics_json_and_states_each_files_accuracy():
    metrics = read_metrics(WEIGHTS_DIR)
    card = (WEIGHTS_DIR / "README.md").read_text()
    assert card == model_card(metrics), "weights/README.md is stale: run `python -m nin.publish --card-only`"
    for name in SHIPPED:
        record = metrics["files"][name]
        assert f"## `{name}`" in card
        assert f"**{record['evaluation_fp32_cpu']['accuracy']:.4f}**" in card
        assert record["sha256"] in card and record["command"] in card
        section = card.split(f"## `{name}`", 1)[1].split("\n## ", 1)[0]
        assert "**In plain words:** a NiN trained" in section  # what the file is, before the details


# ----------------------------------------------------------------------------- the sprite builder

def test_sprite_keeps_the_first_eight_images_of_each_cell_in_index_order():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (300, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 300)
    predictions = np.where(rng.random(300) < 0.7, labels, rng.integers(0, 10, 300))
    sprite, cells = confusion_sprite(images, labels, predictions)
    assert sprite.shape[1] == PER_CELL * 28
    for i in range(10):
        for j in range(10):
            expected = np.flatnonzero((labels == i) & (predictions == j))[:PER_CELL].tolist()
            assert [index for index, _ in cells[i][j]] == expected
            for index, tile in cells[i][j]:
                r, c = divmod(tile, PER_CELL)
                assert np.array_equal(sprite[r * 28:(r + 1) * 28, c * 28:(c + 1) * 28], images[index])


# ----------------------------------------------------------------------------- publish, refresh, card

@pytest.fixture(scope="module")
def published(tmp_path_factory, official_data):
    """An untrained NiN published from a fake two-size run into a scratch weights/ folder."""
    root = tmp_path_factory.mktemp("publish")
    run, weights_dir = root / "run", root / "weights"
    torch.manual_seed(0)
    save_weights(xavier_init_(NiN()), run / "weights.safetensors", metadata={
        "preprocessing": {"input_size": TINY, "resize": "bilinear", "scale": "1/255", "mean": 0.0, "std": 1.0}})
    epochs = [{"epoch": e, "input_size": s, "fraction": f, "loss": 2.3 - e / 10, "train_acc": 0.1 * e,
               "test_acc": 0.1 * e + 0.05, "examples_per_s": 100.0 * e}
              for e, s, f in ((1, 48, 1.0), (2, TINY, 0.4))]
    (run / "metrics.json").write_text(json.dumps({
        "recipe": {"name": "cpu", "epochs": 2, "input_size": TINY, "sizes": [48, TINY], "fractions": [1.0, 0.4]},
        "seed": 0, "device_name": "CPU (test, 2 threads)", "world_size": 1, "precision": "bf16",
        "status": "complete", "wall_time_s": 12.5, "final_test_acc": 0.25, "epochs": epochs}))
    command = "python -m nin.train --recipe cpu --sizes 48,67@0.4 --out runs/tiny"
    # An untrained network gets whole classes wrong: shipping it needs the explicit override.
    with pytest.raises(WeakClassError, match="refusing to ship.*--allow-weak-classes"):
        publish(run, "nin_tiny.safetensors", command, weights_dir=weights_dir, limit=200)
    assert not list(weights_dir.glob("nin_tiny*")), "a refused file must not be left in weights/"
    record = publish(run, "nin_tiny.safetensors", command, weights_dir=weights_dir, limit=200, notes=["<a note>"],
                     allow_weak=True)
    return weights_dir, record


def test_publish_records_the_run_the_evaluation_and_the_sprite(published, official_data):
    weights_dir, record = published
    report = load_report(weights_dir, "nin_tiny.safetensors")
    assert report.n == 200 and int(report.confusion.sum()) == 200
    assert [p.input_size for p in report.epochs] == [48, TINY] and report.sizes_varied
    assert [p.fraction for p in report.epochs] == [1.0, 0.4]
    assert not report.trained_on_gpu
    labels = official_data.test_labels[:200]
    assert report.confusion.sum(1).tolist() == torch.bincount(labels, minlength=10).tolist()
    total = 0
    for i in range(10):
        for j in range(10):
            examples = confusion_examples(report, i, j)
            assert len(examples) == min(PER_CELL, report.count(i, j))
            total += len(examples)
            for image, index in examples:
                assert np.array_equal(image, official_data.test_images[index].numpy()) and labels[index] == i
    assert total == record["confusion_examples"]["tiles"]
    assert "predictions" not in record["evaluation_fp32_cpu"]  # per-image predictions go into the sprite only


def test_publish_writes_a_card_that_says_what_the_file_is(published):
    weights_dir, record = published
    card = (weights_dir / "README.md").read_text()
    assert card == model_card(read_metrics(weights_dir))
    assert f"**{record['evaluation_fp32_cpu']['accuracy']:.4f}**" in card
    assert "**In plain words:** a NiN trained at 48 px then 67 px" in card
    assert "Shipped although some classes score under 0.5" in card and record["weak_classes_allowed"]
    assert "48 px → 67 px on 40% of the training set" in card
    assert "python -m nin.publish --run runs/tiny --name nin_tiny.safetensors" in card
    assert "| 2 | 67 | 40% |" in card  # the per-epoch table has size and share
    assert "<a note>" in card



def test_the_cards_publish_line_names_the_run_the_last_of_chained_commands_made():
    chained = ("python -m nin.train --recipe cpu --from-phase C --init weights/nin_cpu.safetensors --out runs/c2 && "
               "python -m nin.train --recipe cpu --from-phase D --init runs/c2/weights.safetensors --out=runs/d2")
    assert run_folder(chained, {"name": "cpu-d"}) == "runs/d2"
    assert run_folder("python -m nin.train --recipe best", {"name": "best"}) == "runs/best"

def test_refresh_keeps_the_run_and_refuses_a_different_file(published):
    weights_dir, before = published
    with pytest.raises(WeakClassError):
        refresh("nin_tiny.safetensors", weights_dir=weights_dir, limit=100)
    assert (weights_dir / "nin_tiny.safetensors").is_file(), "a refused refresh leaves the shipped file alone"
    after = refresh("nin_tiny.safetensors", weights_dir=weights_dir, limit=100, allow_weak=True)
    assert after["epochs"] == before["epochs"] and after["run"] == before["run"] and after["notes"] == ["<a note>"]
    assert after["evaluation_fp32_cpu"]["n"] == 100
    assert load_report(weights_dir, "nin_tiny.safetensors").n == 100
    path = weights_dir / "nin_tiny.safetensors"
    save_weights(NiN(), path)  # another network under the same name
    with pytest.raises(SystemExit, match="sha256"):
        refresh("nin_tiny.safetensors", weights_dir=weights_dir, limit=10)


# ----------------------------------------------------------------------------- shaping and HTML

def fake_report(names=CLASS_NAMES) -> Report:
    confusion = np.diag(np.full(10, 90)) + 1  # 91 right, 1 of each mistake per class
    confusion[4, 2] = 40
    confusion[0, 9] = 0
    return Report(name="nin<x>.safetensors", accuracy=float(np.trace(confusion) / confusion.sum()),
                  n=int(confusion.sum()), class_names=tuple(names), confusion=confusion,
                  per_class_accuracy=tuple(float(confusion[i, i] / confusion[i].sum()) for i in range(10)),
                  epochs=(), device_name="CPU (test)", recipe={"name": "cpu"})


def test_confusion_html_gives_every_cell_an_id_and_its_true_and_predicted_class():
    html = report_panels.confusion_html(fake_report(), selected=(4, 2))
    for i in range(10):
        for j in range(10):
            assert f'id="{cell_id("nin<x>.safetensors", i, j)}" data-true="{i}" data-pred="{j}"' in html
    assert cell_id("nin<x>.safetensors", 4, 2) == "cm-nin-x--4-2"  # safe in a CSS selector
    assert html.count("nin-cm-diag") == 10 and html.count("nin-cm-selected") == 1
    assert 'data-count="40"' in html and ">40</td>" in html
    assert html.count('role="button"') == 99  # every non-empty cell; the empty one is not clickable


def test_report_html_escapes_class_names():
    report = fake_report(("<script>x</script>",) + CLASS_NAMES[1:])
    parts = [report_panels.confusion_html(report), report_panels.per_class_html(report),
             report_panels.examples_html(report, 0, 1, [])]
    for part in parts:
        assert "<script>" not in part and "&lt;script&gt;" in part
    for part in parts + [report_panels.summary_html(report)]:
        assert "nin<x>" not in part


def test_examples_html_shows_one_captioned_thumbnail_per_example():
    report = fake_report()
    examples = [(np.full((28, 28), k * 20, np.uint8), 100 + k) for k in range(8)]
    html = report_panels.examples_html(report, 4, 2, examples)
    assert html.count("<img") == 8 and "#107" in html and "Coat taken for Pullover: 40 test images" in html
    assert "T-shirt/top taken for Ankle boot: no test image" in report_panels.examples_html(report, 0, 9, [])


def test_curve_points_feed_gradio_lineplot():
    import pandas as pd

    import gradio as gr

    name = SHIPPED[0]
    report = load_report(WEIGHTS_DIR, name)
    rows = accuracy_points(report)
    assert {r["series"] for r in rows} >= {"train acc", "test acc", "humans", "d2l chapter"}
    plot = gr.LinePlot(x="epoch", y="accuracy", color="series").postprocess(pd.DataFrame(rows))
    assert plot.datatypes["accuracy"] == "quantitative" and len(plot.data) == len(rows)


def phased_record() -> dict:
    """A hand-made metrics.json record of a three-phase run with the drawn test set measured per epoch and at
    publish time: phase A given by --init (only its end known), phases B and C recorded per epoch."""
    confusion = np.full((10, 10), 10, np.int64) + np.diag(np.full(10, 900))
    per_class = {name: 0.9 for name in CLASS_NAMES}
    drawn = {"silhouette": 0.781, "outline": 0.744}

    def epoch(n, phase, size, test, drawn_acc):
        return {"epoch": n, "input_size": size, "fraction": 1.0, "loss": 0.3, "train_acc": 0.9, "test_acc": test,
                "examples_per_s": 20.0, "phase": phase, "drawn_acc": drawn_acc}

    return {
        "run": {"recipe": {"name": "cpu-c", "epochs": 1}, "device_name": "CPU (AMD EPYC, 1 threads)",
                "phases": [{"phase": "A", "given_by_init": True, "input_size": 160, "test_acc": 0.9146,
                            "recipe": {"epochs": 5}},
                           {"phase": "B", "input_size": 224, "recipe": {"epochs": 2}},
                           {"phase": "C", "input_size": 224, "recipe": {"epochs": 1}}]},
        "epochs": [epoch(1, "B", 224, 0.9018, {}), epoch(2, "B", 224, 0.9111, {"silhouette": 0.64}),
                   epoch(1, "C", 224, 0.9071, drawn)],
        "evaluation_fp32_cpu": {"accuracy": 0.9105, "n": 10_000, "class_names": list(CLASS_NAMES),
                                "confusion_matrix": confusion.tolist(), "per_class_accuracy": per_class},
        "drawn_evaluation_fp32_cpu": {style: {"accuracy": acc, "per_class_accuracy": {n: 0.5 for n in CLASS_NAMES}}
                                      for style, acc in drawn.items()},
    }


def test_every_phase_is_charted_on_one_axis_of_whole_epochs_with_its_input_size():
    from nin.metrics_file import report_from_record

    record = phased_record()
    report = report_from_record("phased.safetensors", record, None)
    phases = report_panels.training_phases(report, record["run"]["phases"])
    assert [(p.name, p.input_size, p.first_epoch, p.epochs) for p in phases] == [
        ("A", 160, 1, 5), ("B", 224, 6, 2), ("C", 224, 8, 1)]
    rows, order = report_panels.curve_rows(report, phases)
    assert order == ["1–5 A 160px (end)", "6 B 224px", "7 B 224px", "8 C 224px"]
    assert {r["epoch"] for r in rows} == set(order)
    import pandas as pd

    import gradio as gr

    plot = gr.LinePlot(x="epoch", y="accuracy", color="series", sort=order).postprocess(pd.DataFrame(rows))
    assert plot.datatypes["epoch"] == "nominal" and len(plot.data) == len(rows)
    assert {r["series"] for r in rows} >= {"train acc", "test acc", "drawn test: silhouette"}
    low, high = report_panels.y_range(rows)
    assert 0.5 <= low < min(r["accuracy"] for r in rows) and high <= 1.0  # not 0–1: the curves keep their shape
    caption = report_panels.phases_caption(phases)
    assert caption.startswith("Epochs by phase: A 1–5 at 160 px; B 6–7, C 8 at 224 px.")
    assert caption.count("Epochs 1–5: this file records only each phase's end") == 1


def test_several_files_test_curves_share_one_chart_on_a_numbered_epoch_axis():
    import pandas as pd

    import gradio as gr
    from nin.metrics_file import report_from_record

    record = phased_record()
    phased = report_panels.training_phases(report_from_record("phased.safetensors", record, None),
                                           record["run"]["phases"])
    plain = {"run": {"recipe": {"name": "seed", "epochs": 3}},
             "epochs": [{"epoch": n, "input_size": 224, "fraction": 1.0, "loss": 1.0, "train_acc": 0.5, "test_acc": acc,
                         "examples_per_s": 60.0}
                        for n, acc in ((1, 0.33), (2, 0.57), (3, 0.59))],
             "evaluation_fp32_cpu": record["evaluation_fp32_cpu"]}
    seed = report_panels.training_phases(report_from_record("seed.safetensors", plain, None))
    rows, order = report_panels.compare_rows([("Tuned: 160 px, then 224 px", phased),
                                              ("The chapter's recipe (10 epochs)", seed)])
    assert order == [str(n) for n in range(1, 9)]
    by_series = {}
    for r in rows:
        by_series.setdefault(r["series"], []).append((r["epoch"], r["accuracy"]))
    # phase A is known by its end only: one point at its last epoch; B and C per epoch, on the same axis
    assert by_series["Tuned"] == [("5", 0.9146), ("6", 0.9018), ("7", 0.9111), ("8", 0.9071)]
    assert by_series["The chapter's recipe"] == [("1", 0.33), ("2", 0.57), ("3", 0.59)]  # the legend's short names
    assert by_series["d2l chapter"] == [("1", metrics_file.D2L_REFERENCE), ("8", metrics_file.D2L_REFERENCE)]
    plot = gr.LinePlot(x="epoch", y="accuracy", color="series", sort=order).postprocess(pd.DataFrame(rows))
    assert len(plot.data) == len(rows)


def test_a_series_measured_at_one_epoch_only_is_named_under_the_chart_instead_of_an_invisible_point():
    from nin.metrics_file import report_from_record

    record = phased_record()  # the drawn outlines were measured in epoch 8 only
    report = report_from_record("phased.safetensors", record, None)
    phases = report_panels.training_phases(report, record["run"]["phases"])
    rows, _ = report_panels.curve_rows(report, phases)
    counts = {series: sum(r["series"] == series for r in rows) for series in {r["series"] for r in rows}}
    assert "drawn test: outline" not in counts and min(counts.values()) >= 2, counts
    assert "in the table below rather than on the chart: drawn test: outline." in report_panels.phases_caption(phases)



def test_a_file_trained_from_an_earlier_one_charts_its_own_epochs_on_the_repeated_phase_not_the_earlier():
    from nin.metrics_file import report_from_record

    record = phased_record()
    # C and D once (D's file given by --init), then C again from it: this file's rows are the second C's.
    record["run"]["phases"] = [{"phase": "C", "input_size": 224, "test_acc": 0.905, "recipe": {"epochs": 2}},
                               {"phase": "D", "given_by_init": True, "input_size": 224, "test_acc": 0.9104,
                                "recipe": {"epochs": 1}},
                               {"phase": "C", "input_size": 224, "recipe": {"epochs": 1}}]
    report = report_from_record("again.safetensors", record, None)
    phases = report_panels.training_phases(report, record["run"]["phases"])
    assert [(p.name, p.first_epoch, p.epochs, len(p.points), p.end_test_acc) for p in phases] == [
        ("C", 1, 2, 0, 0.905), ("D", 3, 1, 0, 0.9104), ("C", 4, 1, 1, None), ("B", 5, 2, 2, None)]
    rows, order = report_panels.curve_rows(report, phases)
    assert order[:2] == ["1–2 C 224px (end)", "3 D 224px (end)"]  # a one-epoch phase is "3", not "3–3"
    assert "<td>3</td><td>D</td>" in report_panels.curves_table_html(report, phases)

def test_the_report_shows_the_drawn_test_set_beside_the_official_accuracy_when_measured():
    from nin.metrics_file import report_from_record

    record = phased_record()
    report = report_from_record("phased.safetensors", record, None)
    phases = report_panels.training_phases(report, record["run"]["phases"])
    summary = report_panels.summary_html(report, phases)
    assert "91.05%" in summary and "drawn: silhouette" in summary and "78.1%" in summary and "74.4%" in summary
    assert "8 epochs at 160 → 224 px in 3 phases" in summary and "1 thread)" in summary
    assert "drawn silhouette 50%" in report_panels.per_class_html(report)
    table = report_panels.curves_table_html(report, phases)
    assert "<th>drawn: silhouette</th>" in table and "<th>input size</th>" in table and "64.0%" in table
    assert "91.46% (end)" in table

    del record["drawn_evaluation_fp32_cpu"]
    for row in record["epochs"]:
        row.pop("drawn_acc")
        row.pop("phase")
    bare = report_from_record("old.safetensors", record, None)
    bare_phases = report_panels.training_phases(bare)
    assert [(p.name, p.epochs) for p in bare_phases] == [("", 3)]
    for part in (report_panels.summary_html(bare, bare_phases), report_panels.per_class_html(bare),
                 report_panels.curves_table_html(bare, bare_phases)):
        assert "drawn" not in part


def test_an_accuracy_is_written_with_exactly_the_decimals_its_test_set_resolves():
    assert metrics_file.percent(0.9105, 10_000) == "91.05%"
    assert metrics_file.percent(0.781, 1_000) == "78.1%"
    assert metrics_file.percent(0.9, 100) == "90%"
    assert metrics_file.percent(0.9105, digits=1) == "91.1%"  # half up: the float 0.9105 is just under
