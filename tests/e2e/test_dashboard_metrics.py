"""Every metric the Grafana dashboards query is exported by a running service."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from acs_devstack.stack import Stack

REPO = Path(__file__).resolve().parents[2]


def _dashboard_metrics():
    spec = importlib.util.spec_from_file_location("dashboard_metrics", REPO / "deploy" / "checks" / "dashboard_metrics.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_NAME = re.compile(r"^# (?:HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)", re.M)


async def test_dashboard_metrics_are_exported(http):
    st = Stack(partitions=2).start_servers()
    try:
        st.add_inventory()
        st.add_scheduler()
        st.add_gateway()
        telemetry = st.add_telemetry()
        exported: set[str] = set()
        for port in (st.gateways[0].admin_port, st.schedulers[0].admin_port, st.inventory.admin_port,
                     telemetry.admin_port):
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
            exported |= set(_NAME.findall(text))
        # counters are exported as "x_total" with HELP/TYPE "x" or "x_total" depending on the client
        exported |= {n + "_total" for n in exported}
        wanted = _dashboard_metrics().dashboard_metric_names()
        assert wanted, "no dashboard metrics found"
        missing = sorted(wanted - exported)
        assert not missing, f"dashboards query metrics no service exports: {missing}"
    finally:
        st.stop()
