"""`python -m nin.bench_app`, kept as documented: forwards to nin/dev/bench_app.py."""

from nin.dev.bench_app import main

if __name__ == "__main__":
    main()
