from __future__ import annotations

import sys
from pathlib import Path

import pytest

# Test helpers (cpesim_paths, cpesim_acs) sit beside the tests; the repository runs pytest with
# --import-mode=importlib, which does not put this folder on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpesim_paths import IGD_CSV, TR181_CSV, missing_reason  # noqa: E402


def _load(path):
    from cpe_simulator.datamodel import DataModel

    reason = missing_reason(path)
    if reason:
        pytest.skip(reason)
    return DataModel.load(path)


@pytest.fixture(scope="session")
def igd_model():
    return _load(IGD_CSV)


@pytest.fixture(scope="session")
def tr181_model():
    return _load(TR181_CSV)


@pytest.fixture(scope="session")
def default_model():
    from cpe_simulator.datamodel import DataModel

    return DataModel.default()
