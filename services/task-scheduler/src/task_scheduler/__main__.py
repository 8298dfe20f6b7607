"""``acs-task-scheduler``: run one scheduler instance (a member of the consumer group)."""

from __future__ import annotations

import logging

import uvicorn

from acs_contracts import gc_tuning

from .app import create_app
from .config import Settings


def main() -> None:
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    gc_tuning.tune()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.admin_port,
                loop="uvloop", http="httptools", access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
