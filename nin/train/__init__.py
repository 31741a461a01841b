"""Training: the recipe, the loop, checkpoints, scoring, evaluation, the benchmark and publishing a run.

`python -m nin.train` runs the command line (nin/train/cli.py) and through it the epoch loop (nin/train/loop.py).
The app imports nothing from here.
"""
