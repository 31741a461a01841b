"""`python -m nin.train`: the training CLI (nin/train/loop.py)."""

from nin.train.loop import main

main()
