"""`python -m nin.bench_load` and the `nin-bench-load` command: throughput and memory under concurrent clients (nin/dev/bench_load.py).

The short name the README and the model card use; the work is in nin.dev.bench_load.
"""

from nin.dev.bench_load import main as run


def main() -> None:
    """Run the command; its exit status is 0 when it finishes (the module's own main may return its results)."""
    run()


if __name__ == "__main__":
    main()
