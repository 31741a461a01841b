"""`python -m nin.publish`, kept as documented: forwards to nin/train/publish.py."""

from nin.train.publish import main

if __name__ == "__main__":
    main()
