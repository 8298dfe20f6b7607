from __future__ import annotations

import sys
from pathlib import Path

import pytest

# Test helpers (cpesim_paths, cpesim_acs) sit beside the tests; the repository runs pytest with
# --import-mode=importlib, which does not put this folder on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpesim_paths import IGD_CSV, TR181_CSV  # noqa: E402


@pytest.fixture(scope="session")
def igd_model():
    from cpe_simulator.datamodel import DataModel

    return DataModel.load(IGD_CSV)


@pytest.fixture(scope="session")
def tr181_model():
    from cpe_simulator.datamodel import DataModel

    return DataModel.load(TR181_CSV)
