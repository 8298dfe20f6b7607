"""``acs-telemetry``: the Bulk Data collector and the history writer (docs/monitoring.md)."""

from __future__ import annotations

import logging

import uvicorn

from .app import create_asgi
from .config import Settings


def main() -> None:
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(create_asgi(settings), host=settings.host, port=settings.port, log_level=settings.log_level.lower(),
                access_log=False, proxy_headers=True)


if __name__ == "__main__":
    main()
