"""The shared reference folder: the official CWMP schemas (``cwmp-xsd/``), real devices' SOAP
captures (``cwmp-captures/``) and parameter dumps (``datamodels/``).

It lies beside the repository (``../shared``) or where ``ACS_SHARED_DIR`` says. Tests and
benchmarks read it where it is there; where it is not, a test skips saying why
(:func:`missing_reason`) and a benchmark uses the simulator's built-in model. The product never
reads it at run time. This module is the one place that resolves it.
"""

from __future__ import annotations

import os
from pathlib import Path

# tools/devstack/src/acs_devstack/shared.py -> the repository (an editable install, as make install makes)
REPO = Path(__file__).resolve().parents[4]

IGD_DUMP = "datamodels/genieacs_genieacs-sim/data_model_202BC1-BM632w-8KA8WA1151100043.csv"  # TR-098 gateway
TR181_DUMP = "datamodels/anlix-io_genieacs-sim/models/device-1C61B4-EX220-2226469000523.csv"  # TR-181 router


def shared_dir() -> Path:
    """``ACS_SHARED_DIR``, else ``../shared`` beside the repository (which may not exist)."""
    return Path(os.environ.get("ACS_SHARED_DIR") or REPO.parent / "shared")


def shared_path(relative: str) -> Path:
    """A path inside the shared folder (it may not exist)."""
    return shared_dir() / relative


def missing_reason(*paths: Path) -> str | None:
    """Why a test that reads ``paths`` cannot run, or None when they are all there."""
    gone = [p for p in paths if not p.exists()]
    if not gone:
        return None
    return (f"{gone[0]} is absent: this test reads the shared reference folder (../shared beside the "
            "repository, or ACS_SHARED_DIR)")
