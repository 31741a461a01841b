"""`python -m nin.train`: the training CLI (nin/train/cli.py)."""

from nin.train.cli import main

main()
