"""Where the shared device dumps are, relative to the repository (CI lays shared/ out beside it;
``ACS_SHARED_DIR`` points elsewhere). Without them the tests that read them skip, saying why; the
simulator itself never reads them (its built-in model is package data)."""

import pytest

from acs_devstack.shared import IGD_DUMP, TR181_DUMP, missing_reason, shared_path

DATAMODELS = shared_path("datamodels")
ALL_CSVS = sorted(DATAMODELS.rglob("*.csv"))
IGD_CSV = shared_path(IGD_DUMP)
TR181_CSV = shared_path(TR181_DUMP)


needs_shared = pytest.mark.skipif(missing_reason(IGD_CSV, TR181_CSV) is not None,
                                  reason=missing_reason(IGD_CSV, TR181_CSV) or "")
