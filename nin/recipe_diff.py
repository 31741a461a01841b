"""What two weight files' training differs in, in one sentence read from their own metadata.

The page's "About" compares the file that answers first with the chapter's own recipe: the schedule and
optimiser, the input normalisation, the resolution phases, the drawings, and the passes over the training
images. Every figure comes from the files' recorded recipes (a phased file records one recipe per phase),
so the sentence stays true when either file is retrained. Text only: no torch, no file reading.
"""

from __future__ import annotations

from nin.metrics_file import percent

SCHEDULES = {"onecycle": "one-cycle", "cosine": "cosine", "constant": "constant"}


def stages(metadata: dict) -> list[dict]:
    """The recipes the file was trained with, in order: one per phase, or the run's one recipe."""
    phases = metadata.get("phases") or []
    recipes = [p.get("recipe") or {} for p in phases] if phases else [metadata.get("recipe") or {}]
    return [r for r in recipes if r]


def _in_order(values) -> list:
    return list(dict.fromkeys(v for v in values if v is not None))


def schedule_text(recipes: list[dict]) -> str:
    """"one-cycle then cosine, lr 0.1 down to 0.003, SGD with Nesterov momentum 0.9, weight decay 5e-05, gradient
    clipping", or "a constant lr 0.1, plain SGD"."""
    names = _in_order(SCHEDULES.get(r.get("schedule"), r.get("schedule")) for r in recipes)
    lrs = _in_order(r.get("lr") for r in recipes)
    lr = f"lr {lrs[0]:g}" if len(lrs) == 1 else f"lr {max(lrs):g} down to {min(lrs):g}"
    if names == ["constant"]:
        text = f"a constant {lr}"
    else:
        text = " then ".join(names) + f", {lr}"
    momenta = _in_order(r.get("momentum") or None for r in recipes)
    if momenta:
        nesterov = any(r.get("nesterov") for r in recipes)
        text += f", SGD with {'Nesterov ' if nesterov else ''}momentum {max(momenta):g}"
    else:
        text += ", plain SGD"
    decays = _in_order(r.get("weight_decay") or None for r in recipes)
    if decays:
        text += f", weight decay {max(decays):g}"
    if any(r.get("grad_clip") for r in recipes):
        text += ", gradient clipping"
    if any(r.get("label_smoothing") for r in recipes):
        text += ", label smoothing"
    return text


def sizes_text(recipes: list[dict]) -> str:
    """"160 px then 224 px" or "224 px throughout"."""
    sizes = _in_order(size for r in recipes for size in (r.get("sizes") or [r.get("input_size", 224)]))
    return " then ".join(f"{s} px" for s in sizes) if len(sizes) > 1 else f"{sizes[0] if sizes else 224} px throughout"


def drawings_text(recipes: list[dict]) -> str:
    """"in 8 of its 10 stages, 20–40% of a pass's images, and doodles in 1, 30%", or "" with none."""
    drawn = [r["drawings"] for r in recipes if r.get("drawings")]
    doodled = [r["doodles"] for r in recipes if r.get("doodles")]
    if not drawn and not doodled:
        return ""

    def share(values: list[float]) -> str:
        low, high = percent(min(values), digits=0), percent(max(values), digits=0)
        return low if low == high else f"{low.rstrip('%')}–{high}"

    of = f" of its {len(recipes)} stages" if len(recipes) > 1 else ""
    text = f"in {len(drawn)}{of}, {share(drawn)} of a pass's images" if drawn else ""
    if doodled:
        text += (", and " if text else "") + f"doodles in {len(doodled)}, {share(doodled)}"
    return text


def passes(recipes: list[dict]) -> int:
    return sum(int(r.get("epochs") or 0) for r in recipes)


def difference(tuned: tuple[str, dict], reference: tuple[str, dict]) -> str:
    """One sentence: what the `tuned` file's training adds to the `reference` file's. Each is (title, metadata)."""
    (title, meta), (ref_title, ref_meta) = tuned, reference
    ours, theirs = stages(meta), stages(ref_meta)
    if not ours or not theirs:
        return ""
    parts = []
    if (ours_s := schedule_text(ours)) != (theirs_s := schedule_text(theirs)):
        parts.append(f"**schedule**: {ours_s} (the other: {theirs_s})")
    normal, ref_normal = any(r.get("normalize") for r in ours), any(r.get("normalize") for r in theirs)
    if normal != ref_normal:
        spec = (meta if normal else ref_meta).get("preprocessing") or {}
        how = f", mean {spec['mean']:g} and std {spec['std']:g}" if "mean" in spec and "std" in spec else ""
        parts.append(f"**normalisation**: inputs normalised{how} (the other: raw 0–1 pixels)" if normal
                     else f"**normalisation**: raw 0–1 pixels (the other: inputs normalised{how})")
    if (ours_z := sizes_text(ours)) != (theirs_z := sizes_text(theirs)):
        parts.append(f"**resolution phases**: {ours_z} (the other: {theirs_z})")
    if (drawn := drawings_text(ours)) != (ref_drawn := drawings_text(theirs)):
        parts.append(f"**drawings**: {drawn or 'none'} (the other: {ref_drawn or 'none, only the dataset photos'})")
    if (n := passes(ours)) != (ref_n := passes(theirs)):
        parts.append(f"**length**: {n} passes over the training images (the other: {ref_n})")
    if not parts:
        return f"{title} and {ref_title} were trained alike; only their seeds and machines differ."
    return (f"**{title}** and **{ref_title}** are the same network; only their training differs. The first has "
            + "; ".join(parts) + ".")
