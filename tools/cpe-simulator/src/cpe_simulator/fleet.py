"""Many simulated CPEs in one process: shared templates, one connection request port, shared stats.

Devices are numbered 0..count-1; device ``i`` uses ``models[i % len(models)]`` (the built-in
model, :meth:`DataModel.default`, when none is given) and gets a serial
number (and optionally credentials) from format strings with ``{index}``, ``{oui}``,
``{product_class}`` and ``{serial}``. Fault injection picks an exact share of devices, seeded, so a
run is repeatable.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator, Sequence

from .connreq import ConnectionRequestServer
from .cpe import SimulatedCpe
from .datamodel import DataModel
from .stats import Stats


class Fleet:
    def __init__(
        self,
        models: DataModel | Sequence[DataModel] | None = None,
        *,
        count: int,
        acs_url: str,
        serial_format: str = "SIM{index:08d}",
        username: str | None = None,
        password: str | None = None,
        auth: str = "auto",
        connection_request_host: str = "127.0.0.1",
        connection_request_port: int = 0,
        periodic_interval: int | None = None,
        fail_downloads: float = 0.0,
        drop_session_rate: float = 0.0,
        seed: int = 0,
        **cpe_options,
    ) -> None:
        if models is None:
            models = DataModel.default()
        self.models = [models] if isinstance(models, DataModel) else list(models)
        if not self.models:
            raise ValueError("at least one data model")
        self.stats = Stats()
        self.rng = random.Random(seed)
        self.server = ConnectionRequestServer(connection_request_host, connection_request_port, stats=self.stats)
        failing = set(self.rng.sample(range(count), round(count * fail_downloads))) if fail_downloads else set()
        self.cpes: list[SimulatedCpe] = []
        for index in range(count):
            model = self.models[index % len(self.models)]
            fields = {"index": index, "oui": model.identity.oui, "product_class": model.identity.product_class}
            serial = serial_format.format(**fields)
            fields["serial"] = serial
            self.cpes.append(
                SimulatedCpe(
                    model,
                    acs_url=acs_url,
                    serial=serial,
                    username=username.format(**fields) if username else None,
                    password=password.format(**fields) if password else None,
                    auth=auth,
                    connection_request_server=self.server,
                    periodic_interval=periodic_interval,
                    fail_downloads=index in failing,
                    drop_session_rate=drop_session_rate,
                    stats=self.stats,
                    rng=self.rng,
                    **cpe_options,
                )
            )

    def __len__(self) -> int:
        return len(self.cpes)

    def __iter__(self) -> Iterator[SimulatedCpe]:
        return iter(self.cpes)

    def __getitem__(self, index: int) -> SimulatedCpe:
        return self.cpes[index]

    async def start(self, *, boot_within_s: float = 0.0) -> None:
        """Open the shared listener and power every device on, uniformly spread over
        ``boot_within_s`` seconds (a boot storm when short)."""
        await self.server.start()
        for cpe in self.cpes:
            await cpe.start(boot_after_s=self.rng.uniform(0.0, boot_within_s) if boot_within_s > 0 else 0.0)

    async def stop(self) -> None:
        await asyncio.gather(*(cpe.stop() for cpe in self.cpes), return_exceptions=True)
        await self.server.stop()
