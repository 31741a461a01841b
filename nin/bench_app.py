"""`python -m nin.bench_app` and the `nin-bench-app` command: the app's latency per part (nin/dev/bench_app.py).

The short name the README and the model card use; the work is in nin.dev.bench_app.
"""

from nin.dev.bench_app import main as run


def main() -> None:
    """Run the command; its exit status is 0 when it finishes (the module's own main may return its results)."""
    run()


if __name__ == "__main__":
    main()
