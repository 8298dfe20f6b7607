"""Where the shared device dumps are, relative to the repository (CI lays shared/ out beside it)."""

from pathlib import Path

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"
DATAMODELS = SHARED / "datamodels"
ALL_CSVS = sorted(DATAMODELS.rglob("*.csv"))
IGD_CSV = DATAMODELS / "genieacs_genieacs-sim" / "data_model_202BC1-BM632w-8KA8WA1151100043.csv"
TR181_CSV = DATAMODELS / "anlix-io_genieacs-sim" / "models" / "device-1C61B4-EX220-2226469000523.csv"
