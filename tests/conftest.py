"""Shared test helpers.

Tests that need something outside the repo (the official Fashion-MNIST files, Chromium) skip on a
developer's machine that lacks it, but fail under CI=true: CI installs both, so a skip there would
hide a broken install step.
"""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip locally, fail in CI, when a test's outside requirement is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI but missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def official_data():
    """The official Fashion-MNIST arrays, loaded once per test session (no download in tests)."""
    from nin import data

    try:
        return data.load_fashion_mnist(download=False)
    except data.DataSourceError as exc:
        require(False, f"official Fashion-MNIST not found ({exc}); apt-get install -y dataset-fashion-mnist")
