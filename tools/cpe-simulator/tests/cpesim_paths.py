"""Where the shared device dumps are, relative to the repository (CI lays shared/ out beside it;
``ACS_SHARED_DIR`` points elsewhere). Without them the tests that read them skip, saying why; the
simulator itself never reads them (its built-in model is package data)."""

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("ACS_SHARED_DIR") or Path(__file__).resolve().parents[3] / ".." / "shared")
DATAMODELS = SHARED / "datamodels"
ALL_CSVS = sorted(DATAMODELS.rglob("*.csv"))
IGD_CSV = DATAMODELS / "genieacs_genieacs-sim" / "data_model_202BC1-BM632w-8KA8WA1151100043.csv"
TR181_CSV = DATAMODELS / "anlix-io_genieacs-sim" / "models" / "device-1C61B4-EX220-2226469000523.csv"


def missing_reason(*paths: Path) -> str | None:
    """Why a test that reads ``paths`` cannot run, or None when they are all there."""
    gone = [p for p in paths if not p.exists()]
    if not gone:
        return None
    return (f"shared device dumps absent ({gone[0].resolve()}): this test reads ../shared/datamodels "
            "beside the repository (or ACS_SHARED_DIR)")


needs_shared = pytest.mark.skipif(missing_reason(IGD_CSV, TR181_CSV) is not None,
                                  reason=missing_reason(IGD_CSV, TR181_CSV) or "")
