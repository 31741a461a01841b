"""`python -m nin.evaluate` and the `nin-evaluate` command: score a weight file on the official and drawn test sets (nin/train/evaluate.py).

The short name the README and the model card use; the work is in nin.train.evaluate.
"""

from nin.train.evaluate import main as run


def main() -> None:
    """Run the command; its exit status is 0 when it finishes (the module's own main may return its results)."""
    run()


if __name__ == "__main__":
    main()
