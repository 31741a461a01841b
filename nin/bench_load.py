"""`python -m nin.bench_load`, kept as documented: forwards to nin/dev/bench_load.py."""

from nin.dev.bench_load import main

if __name__ == "__main__":
    main()
