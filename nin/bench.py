"""`python -m nin.bench`, kept as documented: forwards to nin/train/bench.py."""

from nin.train.bench import main

if __name__ == "__main__":
    main()
