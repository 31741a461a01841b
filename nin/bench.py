"""`python -m nin.bench` and the `nin-bench` command: training throughput beside the reference pipeline (nin/train/bench.py).

The short name the README and the model card use; the work is in nin.train.bench.
"""

from nin.train.bench import main as run


def main() -> None:
    """Run the command; its exit status is 0 when it finishes (the module's own main may return its results)."""
    run()


if __name__ == "__main__":
    main()
