"""Every weight file shipped in weights/ is the one recorded in weights/metrics.json and scores what it says.

Each file is re-evaluated here on CPU on all 10,000 official test images; the accuracy must equal the
figure recorded when it was published within 0.3 points (training may have measured in bf16).
"""

import pytest
import torch

from nin.train.evaluate import evaluate, evaluate_doodles, evaluate_drawn
from nin.train.publish import MIN_CLASS_ACC
from nin.files import sha256_of
from nin.model import CLASS_NAMES, INPUT_SIZE, load_weights, parameter_count, preprocessing_of
from nin.serve.pipeline import CHAPTER_FILE, WEIGHT_FILES, WEIGHTS_DIR
from nin.metrics_file import read_metrics

SHIPPED = [name for name, _ in WEIGHT_FILES if (WEIGHTS_DIR / name).exists()]


def test_at_least_one_trained_weight_file_is_shipped():
    assert SHIPPED, "weights/ holds none of " + ", ".join(name for name, _ in WEIGHT_FILES)


@pytest.fixture(scope="module")
def metrics():
    return read_metrics(WEIGHTS_DIR)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_file_matches_its_recorded_sha256_and_is_small(name, metrics):
    record = metrics["files"][name]
    path = WEIGHTS_DIR / name
    assert sha256_of(path) == record["sha256"]
    assert path.stat().st_size < 10_000_000


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_file_carries_its_metadata(name):
    model, metadata = load_weights(WEIGHTS_DIR / name)
    assert parameter_count(model) == 1_992_166
    assert metadata["class_names"] == list(CLASS_NAMES)
    assert preprocessing_of(metadata).input_size == INPUT_SIZE
    assert {"recipe", "metrics", "git_commit", "device_name", "torch_version"} <= set(metadata)


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_file_scores_its_recorded_accuracy_on_all_10000_test_images(name, metrics, official_data):
    model, metadata = load_weights(WEIGHTS_DIR / name)
    model = model.to(memory_format=torch.channels_last)  # 1.6x faster on CPU, same numbers
    report = evaluate(model, official_data.test_images, official_data.test_labels, preprocessing_of(metadata))
    recorded = metrics["files"][name]
    assert report["n"] == 10_000
    assert abs(report["accuracy"] - recorded["evaluation_fp32_cpu"]["accuracy"]) <= 0.003
    assert abs(report["accuracy"] - metadata["metrics"]["test_acc"]) <= 0.003  # what training measured
    # nin.train.publish refuses a file with a class under 0.5 unless told otherwise, and the card then says so.
    weak = {c: a for c, a in report["per_class_accuracy"].items() if a < MIN_CLASS_ACC}
    assert weak == recorded.get("weak_classes_allowed", {}), weak


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_file_scores_its_recorded_accuracy_on_the_drawn_test_set(name, metrics, official_data):
    """The drawn test set (1,000 silhouettes, 1,000 outlines made from official test images) is redrawn here
    from its fixed seed and scored again: the same drawings, the same figures."""
    model, metadata = load_weights(WEIGHTS_DIR / name)
    drawn = evaluate_drawn(model.to(memory_format=torch.channels_last), official_data.test_images,
                           official_data.test_labels, preprocessing_of(metadata))
    recorded = metrics["files"][name]["drawn_evaluation_fp32_cpu"]
    for style, report in drawn.items():
        assert report["n"] == 1_000
        assert abs(report["accuracy"] - recorded[style]["accuracy"]) <= 0.003, style


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_file_scores_its_recorded_accuracy_on_peoples_doodles(name, metrics):
    """People's 83 doodles are drawn on the canvas again, through the canvas path: the same figures."""
    model, metadata = load_weights(WEIGHTS_DIR / name)
    doodles = evaluate_doodles(model.to(memory_format=torch.channels_last), preprocessing_of(metadata))
    recorded = metrics["files"][name]["doodles_evaluation_fp32_cpu"]
    assert doodles["n"] == recorded["n"] == 83
    assert doodles["accuracy"] == pytest.approx(recorded["accuracy"], abs=1.5 / 83)  # one drawing either way


def test_the_default_weights_score_at_least_091_and_every_class_at_least_06(metrics):
    """The file the app opens with (the best shipped) is good in every class, not just on average; the
    test above re-evaluates it, so its record is the live figure."""
    default = SHIPPED[0]
    evaluation = metrics["files"][default]["evaluation_fp32_cpu"]
    assert evaluation["n"] == 10_000 and evaluation["accuracy"] >= 0.91
    assert min(evaluation["per_class_accuracy"].values()) >= 0.6, evaluation["per_class_accuracy"]
    predicted = [sum(column) for column in zip(*evaluation["confusion_matrix"])]
    assert all(predicted), "every class must be predicted for some test image"


def test_the_default_weights_read_drawings_too():
    """People draw silhouettes and outlines. Before its drawing phases the shipped file read 0.647 of the drawn
    test set's silhouettes and 0.556 of its outlines; it must now read at least 0.80 and 0.78 (it reads 0.830
    and 0.803, re-measured above), without losing the official test set (>= 0.91, the test above). The
    doodle passes first cost the outlines 1.4 points (0.789 -> 0.775); the later ones won them back."""
    drawn = read_metrics(WEIGHTS_DIR)["files"][SHIPPED[0]]["drawn_evaluation_fp32_cpu"]
    assert drawn["silhouette"]["n"] == drawn["outline"]["n"] == 1_000
    assert drawn["silhouette"]["accuracy"] >= 0.80 and drawn["outline"]["accuracy"] >= 0.78, drawn


def test_the_default_weights_read_peoples_doodles_with_no_class_taking_most_misreads():
    """Real people's doodles (83 Quick, Draw! drawings of 7 classes, drawn with the Medium brush): the file
    before the doodle phases read 0.313 of them, and Bag took 47% of its misreads. It must read at least 0.55
    (it reads 0.639, re-measured above), and no single wrong class may take more than 40% of the misreads
    (Pullover, Shirt and Bag, the most, take 20% each)."""
    doodles = read_metrics(WEIGHTS_DIR)["files"][SHIPPED[0]]["doodles_evaluation_fp32_cpu"]
    assert doodles["n"] == 83 and doodles["accuracy"] >= 0.55, doodles["accuracy"]
    assert doodles["top_misread_share"] <= 0.4, doodles["misread_as"]


def test_the_chapters_recipe_is_shipped_as_the_chapter_trains_it_and_never_answers_first(metrics):
    """The chapter's own recipe (xavier init, plain SGD at lr 0.1, batch 128, 10 epochs at 224 px, no
    normalisation, no drawings), trained here and scored above like every shipped file. It is there to compare
    with, so the tuned file comes before it and answers first; a class it never learned is on its card."""
    assert CHAPTER_FILE in SHIPPED, f"{CHAPTER_FILE} is not shipped in weights/"
    record = metrics["files"][CHAPTER_FILE]
    recipe = record["run"]["recipe"]
    assert (recipe["name"], recipe["epochs"], recipe["batch_size"], recipe["lr"], recipe["input_size"]) == (
        "seed", 10, 128, 0.1, 224)
    assert (recipe["momentum"], recipe["weight_decay"], recipe["schedule"], recipe["normalize"]) == (
        0.0, 0.0, "constant", False)
    assert not recipe.get("drawings") and not recipe.get("doodles") and not recipe.get("sizes")
    assert [row["epoch"] for row in record["epochs"]] == list(range(1, 11))
    assert record["evaluation_fp32_cpu"]["n"] == 10_000
    assert SHIPPED[0] != CHAPTER_FILE and SHIPPED.index("nin_cpu.safetensors") < SHIPPED.index(CHAPTER_FILE)
    # the drawn test set and people's doodles are measured for it too: they show what training on drawings adds
    assert set(record["drawn_evaluation_fp32_cpu"]) == {"silhouette", "outline"}
    assert record["doodles_evaluation_fp32_cpu"]["n"] == 83
