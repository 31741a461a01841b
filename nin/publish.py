"""`python -m nin.publish` and the `nin-publish` command: ship a run: evaluate, sprite, model card (nin/train/publish.py).

The short name the README and the model card use; the work is in nin.train.publish.
"""

from nin.train.publish import main as run


def main() -> None:
    """Run the command; its exit status is 0 when it finishes (the module's own main may return its results)."""
    run()


if __name__ == "__main__":
    main()
