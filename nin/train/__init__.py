"""Training: the recipe, the loop, checkpoints, scoring, evaluation, the benchmark and publishing a run.

`python -m nin.train` runs the command line (nin/train/cli.py) and through it the epoch loop (nin/train/loop.py);
nothing here is imported by the app at request time except `nin.train.runtime.sha256_of` and `write_atomically`.
"""
