"""Network interface counters: bytes, packets, errors and drops."""
from __future__ import annotations

from typing import Any

import psutil

from opsmon.agent.collectors.base import Collector


class Network(Collector):
    name = "net"

    def collect(self) -> list[dict[str, Any]]:
        stats = psutil.net_if_stats()
        out = []
        for nic, c in psutil.net_io_counters(pernic=True).items():
            st = stats.get(nic)
            out.append({"interface": nic, "up": bool(st.isup) if st else None,
                        "speed_mbps": st.speed if st else None,
                        "rx_bytes": c.bytes_recv, "tx_bytes": c.bytes_sent, "rx_packets": c.packets_recv,
                        "tx_packets": c.packets_sent, "rx_errors": c.errin, "tx_errors": c.errout,
                        "rx_drops": c.dropin, "tx_drops": c.dropout})
        return out
