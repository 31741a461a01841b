"""`python -m nin.evaluate`, kept as documented: forwards to nin/train/evaluate.py."""

from nin.train.evaluate import main

if __name__ == "__main__":
    main()
