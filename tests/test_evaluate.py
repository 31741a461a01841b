"""nin.train.evaluate as a specification: the report's numbers agree with each other and with the weights' preprocessing."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from nin.data import TRAIN_MEAN, TRAIN_STD
from nin.train.evaluate import evaluate
from nin.model import CLASS_NAMES, NiN, Preprocessing, save_weights, xavier_init_

ROOT = Path(__file__).resolve().parents[1]
TINY = 67  # the least input the NiN takes; the report must not care


class Brightness(nn.Module):
    """A stand-in classifier that spreads its answers over all ten classes: class = brightness decile."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        level = x.mean(dim=(1, 2, 3))
        bucket = (level.argsort().argsort() * 10 // len(level)).clamp(max=9)
        return nn.functional.one_hot(bucket, 10).float()


class Recorder(nn.Module):
    """Remembers what it was fed, so a test can see the preprocessing."""

    def __init__(self):
        super().__init__()
        self.inputs = []

    def forward(self, x):
        self.inputs.append(x)
        return torch.zeros(len(x), 10)


def assert_consistent(report: dict, labels: torch.Tensor) -> None:
    matrix = torch.tensor(report["confusion_matrix"])
    assert matrix.shape == (10, 10)
    assert int(matrix.sum()) == report["n"] == len(labels)
    assert matrix.sum(1).tolist() == torch.bincount(labels, minlength=10).tolist()  # rows are the true class
    assert report["accuracy"] == int(matrix.trace()) / report["n"]
    assert list(report["per_class_accuracy"]) == list(CLASS_NAMES) == report["class_names"]
    for i, name in enumerate(CLASS_NAMES):
        total = int(matrix[i].sum())
        expected = int(matrix[i, i]) / total if total else None
        assert report["per_class_accuracy"][name] == expected


def test_confusion_matrix_sums_to_n_and_per_class_accuracy_matches_it(official_data):
    images, labels = official_data.test_images[:300], official_data.test_labels[:300]
    report = evaluate(Brightness(), images, labels, Preprocessing(TINY), batch_size=64)
    assert_consistent(report, labels)
    matrix = torch.tensor(report["confusion_matrix"])
    assert (matrix.sum(0) > 0).sum() == 10  # predictions really are spread, so the checks above bite


def test_evaluate_feeds_the_weights_preprocessing(official_data):
    images, labels = official_data.test_images[:64], official_data.test_labels[:64]
    recorder = Recorder()
    evaluate(recorder, images, labels, Preprocessing(TINY, TRAIN_MEAN, TRAIN_STD), batch_size=64)
    (x,) = recorder.inputs
    assert x.shape == (64, 1, TINY, TINY)
    raw = images.float().div(255).mean()
    assert x.mean().item() == pytest.approx(((raw - TRAIN_MEAN) / TRAIN_STD).item(), abs=0.02)


def test_evaluate_puts_the_model_back_in_its_mode(official_data):
    model = xavier_init_(NiN()).train()
    evaluate(model, official_data.test_images[:8], official_data.test_labels[:8], Preprocessing(TINY))
    assert model.training


@pytest.mark.slow
def test_cli_writes_a_json_report(tmp_path, official_data):
    torch.manual_seed(0)
    weights = save_weights(xavier_init_(NiN()), tmp_path / "w.safetensors", metadata={
        "preprocessing": {"input_size": TINY, "resize": "bilinear", "scale": "1/255", "mean": 0.0, "std": 1.0},
        "metrics": {"test_acc": 0.1},
    })
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "nin.evaluate", "--weights", str(weights), "--limit", "100", "--out", str(out),
         "--device", "cpu"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "test accuracy" in proc.stdout
    # People's doodles are scored beside the official and drawn test sets, with their source named.
    assert "people's doodles (Quick, Draw!, CC BY 4.0 Google): accuracy" in proc.stdout
    assert "drawn test set, outlines: accuracy" in proc.stdout
    report = json.loads(out.read_text())
    assert report["doodles"]["n"] == 83 and set(report["doodles"]["misread_as"]) <= set(report["class_names"])
    assert {"n", "accuracy", "per_class_accuracy", "confusion_matrix", "weights_sha256", "preprocessing"} <= set(report)
    assert report["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert report["preprocessing"]["input_size"] == TINY
    assert_consistent(report, official_data.test_labels[:100])


@pytest.mark.slow
def test_cli_rejects_a_missing_weight_file(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "nin.evaluate", "--weights", str(tmp_path / "nope.safetensors")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "not found" in proc.stderr


def test_predictions_are_optional_per_image_and_agree_with_the_confusion_matrix(official_data):
    images, labels = official_data.test_images[:300], official_data.test_labels[:300]
    plain = evaluate(Brightness(), images, labels, Preprocessing(TINY), batch_size=64)
    report = evaluate(Brightness(), images, labels, Preprocessing(TINY), batch_size=64, predictions=True)
    assert "predictions" not in plain and set(report) == set(plain) | {"predictions"}
    predictions = report.pop("predictions")
    assert report == plain  # asking for predictions changes nothing else
    assert predictions.shape == (300,) and predictions.device.type == "cpu"
    counts = torch.bincount(labels * 10 + predictions, minlength=100).view(10, 10)
    assert counts.tolist() == report["confusion_matrix"]
