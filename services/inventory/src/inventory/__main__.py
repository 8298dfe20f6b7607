"""``acs-inventory``: the NBI, the file server and (CONSOLE_PORT) the console, uvicorn servers in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import uvicorn

from .app import create_app, create_file_app
from .config import Settings
from .console import create_console_app
from .runtime import Runtime


class _Server(uvicorn.Server):
    """Two servers share the process, so signals are handled once here, not by each server."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


async def serve(settings: Settings) -> None:
    runtime = Runtime(settings)
    await runtime.start()  # held for both apps; their lifespans only add and drop a reference
    try:
        nbi = create_app(settings, runtime)
        servers = [
            _Server(uvicorn.Config(nbi, host=settings.nbi_host,
                                          port=settings.nbi_port, log_level=settings.log_level.lower(),
                                          proxy_headers=True, access_log=False)),
            _Server(uvicorn.Config(create_file_app(settings, runtime), host=settings.fs_host,
                                          port=settings.fs_port, log_level=settings.log_level.lower(),
                                          access_log=False)),
        ]
        if settings.console_port:
            servers.append(_Server(uvicorn.Config(
                create_console_app(settings, nbi), host=settings.console_host,
                port=settings.console_port, log_level=settings.log_level.lower(), proxy_headers=True,
                access_log=False)))
        loop = asyncio.get_running_loop()
        def stop_all() -> None:
            for s in servers:
                s.should_exit = True

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop_all)
        tasks = [asyncio.create_task(s.serve()) for s in servers]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for s in servers:  # one stopped (signal or failure): stop the other too
            s.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        for t in done:
            t.result()
    finally:
        await runtime.stop()


def main() -> None:
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
