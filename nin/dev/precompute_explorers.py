"""`python -m nin.dev.precompute_explorers --weights weights/nin_cpu.safetensors`: the explorers' data for one weight file.

Runs the network once over the 10,000 official test images at the file's input size (224 px), in batches, and
writes precomputed/<stem>.explorers.npz (see nin/serve/explorer_bank.py): every channel's 9 most exciting test
images with the cell where each fired, and the feature bank (pool3 averaged over space, float16). It also
copies the official test files into precomputed/fashion-mnist-test/ once, so the app needs no dataset.

Precision: fp32 (channels_last), in batches of 25 images, so a fp32 recomputation from the weight file finds
the same images and values. A bf16 autocast pass was measured too: 1.6x faster on an AVX512-BF16 CPU, but its
top-9 lists differ from fp32's (near-ties, and saturated channels where dozens of images tie), and scoring its
shortlists again in fp32 took longer than the whole fp32 pass (677 s against 319 s on a busy 2-core machine).

Rerun it whenever a weight file changes: the app checks the sha256 recorded here and shows the explorers as
unavailable for any other file. A tool, not library: nothing imports it but its tests.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from nin.serve.channels import TOP_K, channel_counts, receptive_fields, stage_maxima, top_images
from nin.data import load_fashion_mnist, to_model_input
from nin.serve.explorer_bank import PRECOMPUTED_DIR, bank_path, command_for, copy_test_files, load_bank, save_bank
from nin.model import CLASS_NAMES, FEATURE_STAGES, load_weights, preprocessing_of
from nin.files import sha256_of
from nin.train.runtime import device_name, git_commit


def pass_over(model, images_u8: torch.Tensor, spec, batch: int, progress=None):
    """Every channel's largest value and its position, and the feature vectors, for all images: numpy arrays."""
    n = len(images_u8)
    maxima, where, features = {}, {}, np.zeros((n, 384), np.float32)
    for start in range(0, n, batch):
        values, cells, vectors = stage_maxima(model, images_u8[start:start + batch], spec)
        for stage in FEATURE_STAGES:
            if stage not in maxima:
                maxima[stage] = np.zeros((n, values[stage].shape[1]), np.float32)
                where[stage] = np.zeros((n, values[stage].shape[1]), np.int32)
            maxima[stage][start:start + batch] = values[stage].numpy()
            where[stage][start:start + batch] = cells[stage].numpy()
        features[start:start + batch] = vectors.numpy()
        if progress:
            progress(min(n, start + batch), n)
    return maxima, where, features


def compute(model, images_u8: torch.Tensor, spec, batch: int = 25, progress=None) -> dict:
    """The bank's arrays for `images_u8` (uint8 [N, 28, 28], test-index order): top-9 lists and features, fp32."""
    sides = {}
    maxima, where, features = pass_over(model, images_u8, spec, batch, progress)
    with torch.no_grad():
        shapes = model.forward_with_stages(torch.zeros(1, 1, spec.input_size, spec.input_size))[1]
    top_index, top_activation, top_cell = {}, {}, {}
    for stage in FEATURE_STAGES:
        sides[stage] = shapes[stage].shape[-1]
        index = top_images(maxima[stage])                                   # [C, 9]
        channels = np.arange(index.shape[0])[:, None]
        top_index[stage] = index
        top_activation[stage] = maxima[stage][index, channels]
        flat = where[stage][index, channels]
        top_cell[stage] = np.stack([flat // sides[stage], flat % sides[stage]], axis=-1)
    return {"features": features, "top_index": top_index, "top_activation": top_activation, "top_cell": top_cell,
            "sides": sides}


def note_images(model, images_u8: torch.Tensor, labels, spec, want: int = 20, scan: int = 400) -> list[int]:
    """`want` official test images the network gets right, spread over the classes: the first two correct ones of
    each class (in test-index order), then third ones in class order while places are left (a class the network
    gets right nowhere in the first `scan` images, like nin_cpu's Sandal, gives its places to the others)."""
    labels = np.asarray(labels)
    right: dict[int, list[int]] = {c: [] for c in range(10)}
    with torch.inference_mode():
        for start in range(0, scan, 50):
            x = to_model_input(images_u8[start:start + 50], spec.input_size, spec.mean, spec.std)
            predicted = model(x).argmax(1).numpy()
            for offset in np.flatnonzero(predicted == labels[start:start + len(predicted)]):
                right[int(predicted[offset])].append(start + int(offset))
            if all(len(found) >= 3 for found in right.values()):
                break
    chosen: list[int] = []
    depth = 0
    while len(chosen) < want and any(len(found) > depth for found in right.values()):
        for c in range(10):
            if len(chosen) < want and len(right[c]) > depth:
                chosen.append(right[c][depth])
        depth += 1
    return sorted(chosen)


def closing_note(model, spec, bank, indices: list[int], k: int = 8, patch: int = 8) -> dict:
    """The closing figures for `indices`: how often the majority of the k nearest neighbours has the true label,
    in feature and in pixel space, and occlusion's rank correlation with CAM (one patch size)."""
    from nin.serve.explain import explain
    from nin.serve.neighbours import feature_vector, nearest
    from nin.serve.occlusion import occlusion

    test = bank.test
    hits = {"feature_space": 0, "pixel_space": 0}
    rhos, times = [], []
    for index in indices:
        image = np.array(test.images[index])   # a writable copy: the bank's arrays are read-only
        explanation = explain(model, image, spec)
        found = nearest(bank.features, test.pixels, test.pixel_norms2, test.images, test.labels,
                        feature_vector(explanation.stages["pool3"]), image, k, explanation.predicted, exclude=(index,))
        hits["feature_space"] += found.feature_majority == test.labels[index]
        hits["pixel_space"] += found.pixel_majority == test.labels[index]
        result = occlusion(model, image, spec, patch)
        times.append(result.server_ms)
        if result.spearman is not None:
            rhos.append(result.spearman)
    return {
        "test_indices": indices, "classes": [CLASS_NAMES[int(test.labels[i])] for i in indices], "k": k,
        "majority_is_true_label": {space: f"{n}/{len(indices)}" for space, n in hits.items()},
        "occlusion_patch": patch,
        "spearman_occlusion_vs_cam": {"mean": round(float(np.mean(rhos)), 3), "min": round(float(np.min(rhos)), 3),
                                      "max": round(float(np.max(rhos)), 3), "defined_for": len(rhos)},
        "occlusion_ms_median": round(float(np.median(times)), 1),
    }


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m nin.dev.precompute_explorers", description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", type=Path, required=True, help="the weight file, e.g. weights/nin_cpu.safetensors")
    p.add_argument("--out-dir", type=Path, default=PRECOMPUTED_DIR, help="where the data goes (default: precomputed/)")
    p.add_argument("--data-dir", help="folder with the four Fashion-MNIST files (default: search, see nin.data)")
    p.add_argument("--batch", type=int, default=25,
                   help="images per forward pass (default 25: larger batches cost page faults, not speed)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--note-only", action="store_true",
                   help="skip the pass: only print the closing-note figures from the data already written")
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    model, metadata = load_weights(args.weights)
    model = model.to(memory_format=torch.channels_last)  # faster on CPU in fp32, the same numbers
    spec = preprocessing_of(metadata)
    data = load_fashion_mnist(args.data_dir, download=False)
    if not args.note_only:
        precompute(args, model, spec, data, started)
    bank = load_bank(args.weights, receptive_fields(model, spec.input_size), directory=args.out_dir)  # checks it
    indices = note_images(model, data.test_images, data.test_labels.numpy(), spec)
    print("closing note:", json.dumps(closing_note(model, spec, bank, indices)))


def precompute(args, model, spec, data, started: float) -> None:
    copy_test_files(data.source, args.out_dir)
    images = data.test_images
    last = [0.0]

    def progress(done: int, total: int):
        if time.perf_counter() - last[0] > 15 or done == total:
            last[0] = time.perf_counter()
            print(f"  {done:,}/{total:,} images, {last[0] - started:.0f} s", flush=True)

    result = compute(model, images, spec, args.batch, progress)
    seconds = time.perf_counter() - started
    meta = {
        "weights": args.weights.name, "weights_sha256": sha256_of(args.weights), "input_size": spec.input_size,
        "preprocessing": spec.to_json(), "test_images": len(images), "top_k": TOP_K,
        "channels": channel_counts(model), "sides": result["sides"],
        "activation": "largest value of the channel's map, fp32",
        "features": "pool3 averaged over space (the vector block4 turns into class maps), float16",
        "precision": "fp32", "batch": args.batch, "seconds": round(seconds, 1), "threads": args.threads,
        "device_name": device_name(torch.device("cpu")), "torch_version": torch.__version__,
        "git_commit": git_commit(), "command": command_for(args.weights),
    }
    path = save_bank(bank_path(args.weights, args.out_dir), meta, result["features"], result["top_index"],
                     result["top_activation"], result["top_cell"])
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) in {seconds:.0f} s", flush=True)


if __name__ == "__main__":
    sys.exit(main())
