"""A home gateway's NAT on this machine, from network namespaces: CPEs behind it can reach the ACS
but nothing on the host side can open a connection to them (TR-069 Annex G's situation).

Three places, joined by two veth pairs::

    [lan namespace: CPE 192.168.N.2] --- [router namespace: 192.168.N.1 | 100.64.N.2] --- [host: 100.64.N.1]

The router forwards and masquerades what leaves its WAN side (nftables), so the host sees every CPE
as 100.64.N.2. Like most home gateways it keeps a UDP mapping's public port (endpoint-independent
mapping) and lets in, on that port, datagrams from an address the CPE has sent to (address-
restricted filtering): a dynamic nftables set records (remote address, port) per outgoing UDP
flow, and a new inbound flow matching it is forwarded to the CPE. TCP from the host is never let
in: an HTTP connection request to the CPE's private ConnectionRequestURL cannot arrive.

Needs root, ``ip`` (iproute2) and ``nft``; everything is removed by :meth:`NatNetwork.close`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field


def available() -> str | None:
    """Why the NAT cannot be built here (None when it can)."""
    if os.geteuid() != 0:
        return "network namespaces and nftables need root"
    for binary in ("ip", "nft"):
        if shutil.which(binary) is None:
            return f"{binary} not found (tools/install-system-packages.sh installs iproute2 and nftables)"
    probe = f"acs-probe-{secrets.token_hex(3)}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _run(*argv: str, ns: str | None = None, stdin: str | None = None) -> None:
    cmd = ["ip", "netns", "exec", ns, *argv] if ns else list(argv)
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {done.stderr.strip() or done.stdout.strip()}")


@dataclass
class NatNetwork:
    """The namespaces, links and rules of one NAT; ``index`` (1-254) picks the subnets."""

    index: int = field(default_factory=lambda: 1 + secrets.randbelow(254))
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    up: bool = False

    @property
    def lan_ns(self) -> str:
        return f"acs-lan-{self.tag}"

    @property
    def router_ns(self) -> str:
        return f"acs-rtr-{self.tag}"

    @property
    def host_address(self) -> str:
        """The host's address on the WAN link: where CPEs behind the NAT reach the ACS."""
        return f"100.64.{self.index}.1"

    @property
    def public_address(self) -> str:
        """The router's WAN address: what the host sees as the CPEs' source address."""
        return f"100.64.{self.index}.2"

    @property
    def cpe_address(self) -> str:
        return f"192.168.{self.index}.2"

    def create(self) -> "NatNetwork":
        n, t = self.index, self.tag
        host_if, wan_if, lan_rtr_if, lan_if = f"hw{t}", f"wr{t}", f"rl{t}", f"ln{t}"
        try:
            _run("ip", "netns", "add", self.router_ns)
            _run("ip", "netns", "add", self.lan_ns)
            self.up = True
            _run("ip", "link", "add", host_if, "type", "veth", "peer", "name", wan_if, "netns", self.router_ns)
            _run("ip", "link", "add", lan_if, "netns", self.lan_ns, "type", "veth", "peer", "name", lan_rtr_if,
                 "netns", self.router_ns)
            _run("ip", "addr", "add", f"{self.host_address}/24", "dev", host_if)
            _run("ip", "link", "set", host_if, "up")
            r, lan = self.router_ns, self.lan_ns
            _run("ip", "addr", "add", f"{self.public_address}/24", "dev", wan_if, ns=r)
            _run("ip", "addr", "add", f"192.168.{n}.1/24", "dev", lan_rtr_if, ns=r)
            for ifname in ("lo", wan_if, lan_rtr_if):
                _run("ip", "link", "set", ifname, "up", ns=r)
            _run("ip", "route", "add", "default", "via", self.host_address, ns=r)
            _run("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=r)
            _run("ip", "addr", "add", f"{self.cpe_address}/24", "dev", lan_if, ns=lan)
            _run("ip", "link", "set", "lo", "up", ns=lan)
            _run("ip", "link", "set", lan_if, "up", ns=lan)
            _run("ip", "route", "add", "default", "via", f"192.168.{n}.1", ns=lan)
            _run("nft", "-f", "-", ns=r, stdin=self._ruleset(wan_if, lan_rtr_if))
        except BaseException:
            self.close()
            raise
        return self

    def _ruleset(self, wan_if: str, lan_if: str) -> str:
        return f"""
table ip acs_nat {{
    set udp_peers {{
        type ipv4_addr . inet_service
        flags dynamic, timeout
        timeout 5m
    }}
    chain forward {{
        type filter hook forward priority 0; policy accept;
        iifname "{lan_if}" meta l4proto udp update @udp_peers {{ ip daddr . udp sport }}
        iifname "{wan_if}" ct status dnat accept
        iifname "{wan_if}" ct state new drop
    }}
    chain prerouting {{
        type nat hook prerouting priority -100; policy accept;
        iifname "{wan_if}" meta l4proto udp ip saddr . udp dport @udp_peers dnat to {self.cpe_address}
    }}
    chain postrouting {{
        type nat hook postrouting priority 100; policy accept;
        oifname "{wan_if}" masquerade
    }}
}}
"""

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` run inside the LAN namespace (behind the NAT)."""
        return ["ip", "netns", "exec", self.lan_ns, *argv]

    def close(self) -> None:
        """Remove the namespaces (their veth links and rules go with them)."""
        for ns in (self.lan_ns, self.router_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", f"hw{self.tag}"], capture_output=True)
        self.up = False

    def __enter__(self) -> "NatNetwork":
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.close()
