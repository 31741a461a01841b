"""The About sentence that says what two weight files' training differs in, read from their own metadata."""

import dataclasses

import pytest

from nin.model import load_weights
from nin.recipe_diff import difference, drawings_text, schedule_text, sizes_text, stages
from nin.serve.pipeline import CHAPTER_FILE, WEIGHTS_DIR
from nin.train.recipe import RECIPES

SEED = {"recipe": dataclasses.asdict(RECIPES["seed"])}  # the chapter's recipe as a one-phase file records it


def recipe(**changes) -> dict:
    return {**SEED["recipe"], **changes}


PHASED = {
    "phases": [
        {"phase": "A", "recipe": recipe(name="cpu-a", epochs=5, lr=0.1, momentum=0.9, nesterov=True,
                                        weight_decay=5e-05, schedule="onecycle", normalize=True, grad_clip=2.0,
                                        input_size=160)},
        {"phase": "B", "recipe": recipe(name="cpu-b", epochs=3, lr=0.01, momentum=0.9, nesterov=True,
                                        weight_decay=5e-05, schedule="cosine", normalize=True, input_size=224)},
        {"phase": "C", "recipe": recipe(name="cpu-c", epochs=2, lr=0.004, momentum=0.9, schedule="cosine",
                                        normalize=True, input_size=224, drawings=0.4)},
        {"phase": "E", "recipe": recipe(name="cpu-e", epochs=1, lr=0.003, momentum=0.9, schedule="cosine",
                                        normalize=True, input_size=224, drawings=0.2, doodles=0.3)},
    ],
    "preprocessing": {"mean": 0.286, "std": 0.353},
}


def test_the_chapters_recipe_is_a_constant_rate_with_plain_sgd_at_224_px_without_drawings():
    ours = stages(SEED)
    assert schedule_text(ours) == "a constant lr 0.1, plain SGD"
    assert sizes_text(ours) == "224 px throughout"
    assert drawings_text(ours) == ""


def test_a_phased_file_is_described_stage_by_stage():
    ours = stages(PHASED)
    assert len(ours) == 4
    assert schedule_text(ours) == ("one-cycle then cosine, lr 0.1 down to 0.003, SGD with Nesterov momentum 0.9, "
                                   "weight decay 5e-05, gradient clipping")
    assert sizes_text(ours) == "160 px then 224 px"
    assert drawings_text(ours) == "in 2 of its 4 stages, 20–40% of a pass's images, and doodles in 1, 30%"


def test_the_sentence_names_schedule_normalisation_resolution_drawings_and_length_against_the_chapter():
    text = difference(("Tuned", PHASED), ("The chapter's recipe", SEED))
    for part in ("**schedule**: one-cycle then cosine", "(the other: a constant lr 0.1, plain SGD)",
                 "**normalisation**: inputs normalised, mean 0.286 and std 0.353 (the other: raw 0–1 pixels)",
                 "**resolution phases**: 160 px then 224 px (the other: 224 px throughout)",
                 "**drawings**: in 2 of its 4 stages", "(the other: none, only the dataset photos)",
                 "**length**: 11 passes over the training images (the other: 10)"):
        assert part in text, (part, text)


def test_two_files_trained_alike_are_said_to_differ_only_in_seed_and_machine():
    assert difference(("A", SEED), ("B", SEED)) == "A and B were trained alike; only their seeds and machines differ."


def metadata_of(path) -> dict:
    return load_weights(path)[1]


def test_the_shipped_files_sentence_comes_from_their_own_metadata():
    tuned, chapter = WEIGHTS_DIR / "nin_cpu.safetensors", WEIGHTS_DIR / CHAPTER_FILE
    if not chapter.exists():
        pytest.fail(f"{CHAPTER_FILE} is not shipped in weights/")
    text = difference(("Tuned", metadata_of(tuned)), ("The chapter's recipe", metadata_of(chapter)))
    assert "(the other: a constant lr 0.1, plain SGD)" in text
    assert "(the other: 224 px throughout)" in text and "(the other: none, only the dataset photos)" in text
    assert "(the other: 10)" in text  # the chapter's 10 epochs
