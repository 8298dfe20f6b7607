"""``acs-task-scheduler``: run one scheduler instance (a member of the consumer group)."""

from __future__ import annotations

import logging
import os

import uvicorn

from acs_contracts import gc_tuning

from .app import create_app
from .config import Settings


def main() -> None:
    logging.basicConfig(level=os.environ.get("ACS_LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings.from_env()
    gc_tuning.tune()
    uvicorn.run(create_app(settings), host=os.environ.get("SCHEDULER_HOST", "0.0.0.0"), port=settings.admin_port,
                loop="uvloop", http="httptools", access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
