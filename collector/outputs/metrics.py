"""Prometheus metrics of the collector: one registry per service, no module globals.

Asset state gauges are produced at scrape time from the timeline (a custom
collector), so /metrics only reads and never drifts from the API.
"""
from __future__ import annotations

import platform
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from opsmon.collector import __version__
from opsmon.collector.core.incidents import HARDWARE, SECURITY
from opsmon.collector.core.states import STATES, UP
from opsmon.collector.sla.results import PeriodResult

LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class StateCollector(Collector):
    """opsmon_asset_up, opsmon_asset_state and opsmon_asset_info from a snapshot function."""

    def __init__(self, snapshot: Callable[[], Iterable[tuple[str, str, str, str, str]]]) -> None:
        self.snapshot = snapshot  # yields (asset, category, site, state, name)

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("opsmon_asset_up", "1 when the asset's state is up, else 0",
                               labels=["asset", "category", "site"])
        state = GaugeMetricFamily("opsmon_asset_state", "1 for the asset's current state, 0 for the others",
                                  labels=["asset", "state"])
        info = GaugeMetricFamily("opsmon_asset_info", "The asset's name a person reads (inventory `name`, else its "
                                 "id), always 1: joined in the dashboards to show it beside the id",
                                 labels=["asset", "name"])
        for asset, category, site, current, name in self.snapshot():
            up.add_metric([asset, category, site], 1.0 if current == UP else 0.0)
            for s in STATES:
                state.add_metric([asset, s], 1.0 if current == s else 0.0)
            info.add_metric([asset, name], 1.0)
        yield up
        yield state
        yield info


class SlaCollector(Collector):
    """Quarter-to-date target figures from the last computed snapshot (the service refreshes it)."""

    def __init__(self, snapshot: Callable[[], PeriodResult | None]) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        value = GaugeMetricFamily("opsmon_sla_value", "Quarter-to-date measured value of a target", labels=["target"])
        threshold = GaugeMetricFamily("opsmon_sla_threshold", "Threshold of a target", labels=["target"])
        budget = GaugeMetricFamily("opsmon_sla_budget_left_seconds",
                                   "More down time the target can absorb this quarter (negative: exceeded)",
                                   labels=["target"])
        coverage = GaugeMetricFamily("opsmon_sla_coverage", "Share of expected time with known state",
                                     labels=["target"])
        passing = GaugeMetricFamily("opsmon_sla_pass", "1 when the target passes quarter-to-date", labels=["target"])
        result = self.snapshot()
        for t in result.targets if result is not None else ():
            threshold.add_metric([t.id], t.threshold)
            if not (t.status == "no_data" and t.measure in ("response_time", "response_rate")):
                # A response target with no incident judged (a quiet quarter) is not failing: no series, so
                # SlaTargetBelowThreshold does not fire for it (missing availability data or a manual value still does).
                passing.add_metric([t.id], 1.0 if t.passed else 0.0)
            if t.value is not None:
                value.add_metric([t.id], t.value)
            if t.budget_left_seconds is not None:
                budget.add_metric([t.id], t.budget_left_seconds)
            if t.coverage is not None:
                coverage.add_metric([t.id], t.coverage)
        yield from (value, threshold, budget, coverage, passing)


class AgentCollector(Collector):
    """Host metrics from each agent's latest report, labelled with its asset."""

    def __init__(self, ingest: Any) -> None:
        self.ingest = ingest

    def collect(self) -> Iterator[Metric]:
        from opsmon.agent.exposition import families

        last = GaugeMetricFamily("opsmon_agent_last_report_timestamp_seconds",
                                 "Time of the agent's latest report (clock-corrected)", labels=["asset"])
        offset = GaugeMetricFamily("opsmon_agent_clock_offset_seconds",
                                   "Collector clock minus agent clock at the last send", labels=["asset"])
        merged: dict[str, Metric] = {}
        for name, state in list(self.ingest.agents.items()):
            if state.last_ts is None:
                continue
            last.add_metric([name], state.last_ts.timestamp())
            offset.add_metric([name], state.offset)
            try:
                mine = list(families(state.metrics, {"asset": name}))
            except (KeyError, TypeError, ValueError, AttributeError, IndexError):
                # One agent of another version or a broken report must not take /metrics down for all.
                self.ingest.render_errors += 1
                continue
            for fam in mine:
                if fam.name in merged:
                    merged[fam.name].samples.extend(fam.samples)
                else:
                    merged[fam.name] = fam
        yield last
        yield offset
        yield _stream_anomalies(self.ingest.streams.anomalies)
        yield from merged.values()


def _stream_anomalies(counts: dict[str, int]) -> Metric:
    """Reports taken out of their stream's order, by kind only (no asset label: the log names the agent)."""
    from prometheus_client.core import CounterMetricFamily

    fam = CounterMetricFamily("opsmon_agent_stream_anomalies", "Agent reports accepted out of their stream's "
                              "order: back (a number at or below the stream's highest, with a newer time), jump "
                              "(further ahead than a restart explains)", labels=["kind"])
    for kind, n in counts.items():
        fam.add_metric([kind], n)
    return fam


class IncidentCollector(Collector):
    """Open incidents by severity and kind, and SLA breaches, read from the incident engine at scrape time."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily

        open_ = GaugeMetricFamily("opsmon_incidents_open", "Incidents open or acknowledged, not yet resolved",
                                  labels=["severity", "kind", "status"])
        counts: dict[tuple[str, str, str], int] = {}
        unacked = GaugeMetricFamily("opsmon_incident_unacknowledged_seconds",
                                    "How long each open incident has waited for acknowledgement",
                                    labels=["incident", "asset", "kind", "severity"])
        now = self.engine.clock()
        for inc in list(self.engine.by_id.values()):
            if inc.status in ("open", "acknowledged"):
                key = (inc.severity, inc.kind, inc.status)
                counts[key] = counts.get(key, 0) + 1
            if inc.status == "open":
                unacked.add_metric([inc.id, inc.asset_id, inc.kind, inc.severity],
                                   max(0.0, (now - inc.opened).total_seconds()))
        for key, n in counts.items():
            open_.add_metric(list(key), n)
        breaches = CounterMetricFamily("opsmon_incident_breaches", "Incidents that passed their response deadline "
                                       "unacknowledged, since start")
        breaches.add_metric([], self.engine.breaches)
        yield from (open_, unacked, breaches, self._security(), self._from_traps())

    def _from_traps(self) -> Metric:
        """Active incidents a trap opened, per asset and kind: a hardware fault a mapped trap raised (it waits for
        its recovery trap or a person) and a security incident of a trap mapped `security` (config/trap_maps.py),
        for the trap alert rule (issue 23 item 4). Polled faults and other causes are not counted here."""
        fam = GaugeMetricFamily("opsmon_trap_incidents_active", "Incidents open or acknowledged whose cause is a "
                                "trap (hardware raised by a mapped trap, security from a trap mapped security), per "
                                "asset and kind", labels=["asset", "kind"])
        counts: dict[tuple[str, str], int] = {}
        for inc in list(self.engine.by_id.values()):
            from_trap = (inc.kind == HARDWARE and inc.source == "trap") or (
                inc.kind == SECURITY and ":sec:trap:" in inc.fingerprint)
            if from_trap and inc.status in ("open", "acknowledged"):
                counts[(inc.asset_id, inc.kind)] = counts.get((inc.asset_id, inc.kind), 0) + 1
        for key, n in sorted(counts.items()):
            fam.add_metric(list(key), n)
        return fam

    def _security(self) -> Metric:
        """Active security incidents per asset and cause (the first part of the finding's key: bruteforce, fim,
        config, ssh_host_key, baseline), for the security alert rules: one alert per cause (issue 23)."""
        fam = GaugeMetricFamily("opsmon_security_incidents_active", "Security incidents open or acknowledged, per "
                                "asset and cause (bruteforce, fim, config, ssh_host_key, baseline)",
                                labels=["asset", "cause"])
        counts: dict[tuple[str, str], int] = {}
        for inc in list(self.engine.by_id.values()):
            if inc.kind == SECURITY and inc.status in ("open", "acknowledged"):
                cause = inc.fingerprint.partition(":sec:")[2].partition(":")[0] or "other"
                counts[(inc.asset_id, cause)] = counts.get((inc.asset_id, cause), 0) + 1
        for key, n in sorted(counts.items()):
            fam.add_metric(list(key), n)
        return fam


class CertCollector(Collector):
    """The notAfter of every TLS certificate an HTTPS check saw (for the expiring-certificate alert)."""

    def __init__(self, expiry: dict[tuple[str, str], float]) -> None:
        self.expiry = expiry

    def collect(self) -> Iterator[Metric]:
        fam = GaugeMetricFamily("opsmon_tls_cert_not_after_seconds",
                                "Expiry (notAfter) of the TLS certificate seen by an HTTPS check, Unix seconds",
                                labels=["asset", "check"])
        for (asset, check), ts in list(self.expiry.items()):
            fam.add_metric([asset, check], ts)
        yield fam


class IcmpCollector(Collector):
    """Each ICMP check's last run: the mean RTT of its replies and its loss (Grafana's latency and loss per link)."""

    def __init__(self, seen: dict[tuple[str, str], tuple[float | None, float]]) -> None:
        self.seen = seen

    def collect(self) -> Iterator[Metric]:
        rtt = GaugeMetricFamily("opsmon_icmp_rtt_seconds", "Mean round-trip time of the echo replies of the ICMP "
                                "check's last run (absent when none came back)", labels=["asset", "check"])
        loss = GaugeMetricFamily("opsmon_icmp_loss_ratio", "Echo requests of the ICMP check's last run that got no "
                                 "reply / requests sent (1: none answered)", labels=["asset", "check"])
        for (asset, check), (mean, lost) in list(self.seen.items()):
            if mean is not None:
                rtt.add_metric([asset, check], mean)
            loss.add_metric([asset, check], lost)
        yield from (rtt, loss)


class SecurityCollector(Collector):
    """Compliance per host and control point, baseline check counts, authentication and FIM activity."""

    def __init__(self, book: Any) -> None:
        self.book = book

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily

        score = GaugeMetricFamily("opsmon_compliance_ratio", "Baseline checks passed / counted, per control point",
                                  labels=["asset", "control"])
        checks = GaugeMetricFamily("opsmon_baseline_checks", "Baseline checks by status", labels=["asset", "status"])
        for row in self.book.scores():
            if row["score"] is not None:
                score.add_metric([row["asset"], row["control"]], row["score"])
        for asset, host in list(self.book.latest.items()):
            counts: dict[str, int] = {}
            for status, _e, _s in host.checks.values():
                counts[status] = counts.get(status, 0) + 1
            for status, n in counts.items():
                checks.add_metric([asset, status], n)
        fails = CounterMetricFamily("opsmon_host_auth_failures", "Failed logins reported by agents, since start",
                                    labels=["asset"])
        logins = CounterMetricFamily("opsmon_host_logins", "Successful logins reported by agents, since start",
                                     labels=["asset"])
        fim = CounterMetricFamily("opsmon_fim_changes", "File integrity changes reported by agents, since start",
                                  labels=["asset"])
        for asset, counts in sorted(self.book.counters().items()):  # every known host, from 0 (issue 23)
            for fam, n in zip((fails, logins, fim), counts, strict=True):
                fam.add_metric([asset], n)
        yield from (score, checks, fails, logins, fim)


class TrapCollector(Collector):
    """The trap receiver's datagrams, accepted traps and refusals by reason and source (inputs/snmp/traps.py)."""

    def __init__(self, counts: Any) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily

        packets = CounterMetricFamily("opsmon_trap_packets", "Datagrams that reached the SNMP trap port")
        packets.add_metric([], self.counts.packets)
        accepted = CounterMetricFamily("opsmon_traps_accepted", "SNMP traps authenticated and handled "
                                       "(stored, or counted in a stored event)")
        accepted.add_metric([], self.counts.accepted)
        grouped = CounterMetricFamily("opsmon_traps_grouped", "Accepted SNMP traps that only raised the count of "
                                      "the same trap's event (storm grouping)")
        grouped.add_metric([], self.counts.grouped)
        refused = CounterMetricFamily("opsmon_trap_refused", "SNMP trap datagrams refused, by reason and source "
                                      "address (sources beyond snmp.traps.refused_sources are 'other')",
                                      labels=["reason", "source"])
        for (reason, source), n in list(self.counts.refused.items()):
            refused.add_metric([reason, source], n)
        yield from (packets, accepted, grouped, refused)


class ForwardedTrapCollector(Collector):
    """The SNMP traps site pollers forwarded, taken and refused by poller (inputs/poller/trap_ingest.py); what a
    poller refused at its own port is in its log (docs/poller.md)."""

    def __init__(self, traps: Any) -> None:
        self.traps = traps

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily

        taken = CounterMetricFamily("opsmon_poller_traps", "SNMP traps a site poller forwarded, taken as the trap "
                                    "receiver's own (stored, or counted in a stored event)", labels=["poller"])
        for poller, n in list(self.traps.taken_by.items()):
            taken.add_metric([poller], n)
        refused = CounterMetricFamily("opsmon_poller_traps_refused", "SNMP traps a site poller forwarded that were "
                                      "not taken, by reason (not_site, future, malformed, error)",
                                      labels=["reason", "poller"])
        for (reason, poller), n in list(self.traps.refusals.counts.items()):
            refused.add_metric([reason, poller], n)
        yield from (taken, refused)


class FlowCollector(Collector):
    """The flow receiver's datagrams, flow records by exporter and link (every configured exporter from zero),
    closed intervals, and refusals by reason and source (inputs/flows/receiver.py)."""

    def __init__(self, counts: Any) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily

        datagrams = CounterMetricFamily("opsmon_flow_datagrams", "Datagrams that reached the flow port")
        datagrams.add_metric([], self.counts.datagrams)
        records = CounterMetricFamily("opsmon_flow_records", "Flow records decoded and summed, by exporter address "
                                      "and its link", labels=["exporter", "link"])
        for exporter, n in sorted(self.counts.by_exporter.items()):
            records.add_metric([exporter, self.counts.links.get(exporter, "")], n)
        intervals = CounterMetricFamily("opsmon_flow_intervals", "Closed flow intervals published (one per link "
                                        "and interval)")
        intervals.add_metric([], self.counts.intervals)
        refused = CounterMetricFamily("opsmon_flow_refused", "Flow datagrams (or v9/IPFIX data sets) refused, by "
                                      "reason and source address (sources beyond flows.refused_sources are "
                                      "'other')", labels=["reason", "source"])
        for (reason, source), n in list(self.counts.refused.items()):
            refused.add_metric([reason, source], n)
        seen = GaugeMetricFamily("opsmon_flow_exporter_last_seen_timestamp_seconds", "When each configured exporter "
                                 "last sent a datagram the receiver could decode (templates only count), Unix "
                                 "seconds; the receiver's start until its first", labels=["exporter", "link"])
        for exporter, at in sorted(self.counts.last_seen.items()):
            seen.add_metric([exporter, self.counts.links.get(exporter, "")], at)
        yield from (datagrams, records, intervals, refused, seen)
        yield from self._links()

    def _links(self) -> Iterator[Metric]:
        """Per link (every configured link from 0): bytes of closed intervals, the last interval's bytes, its
        baseline (only once one is known) and the events of traffic outside the allowed networks."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        volume = CounterMetricFamily("opsmon_flow_link_bytes", "Bytes of the link's closed flow intervals (sFlow: "
                                     "scaled by the sampling rate); grows once an interval", labels=["link"])
        last = GaugeMetricFamily("opsmon_flow_link_interval_bytes", "Bytes of the link's last closed flow interval",
                                 labels=["link"])
        base = GaugeMetricFamily("opsmon_flow_link_baseline_bytes", "The link's volume baseline for its last "
                                 "judged interval: median of the same interval of the past flows.baseline.weeks",
                                 labels=["link"])
        outside = CounterMetricFamily("opsmon_flow_outside_events", "Events of traffic to destinations outside "
                                      "the allowed networks (one per link, source and network and interval)",
                                      labels=["link"])
        for link, n in sorted(self.counts.link_bytes.items()):
            volume.add_metric([link], n)
        for link, n in sorted(self.counts.last_interval.items()):
            last.add_metric([link], n)
        for link, value in sorted(self.counts.baseline.items()):
            base.add_metric([link], value)
        for link, n in sorted(self.counts.outside.items()):
            outside.add_metric([link], n)
        yield from (volume, last, base, outside)
        yield from self._sites()

    def _sites(self) -> Iterator[Metric]:
        """Per site (the prefecture of the links, from the inventory; every site of a configured link from 0): bytes
        of its links' closed intervals; and each exporter's link as the inventory places it (value 1)."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        volume = CounterMetricFamily("opsmon_flow_site_bytes", "Bytes of the closed flow intervals of the site's "
                                     "links (the inventory's site of each link; unknown: no such asset or no site)",
                                     labels=["site"])
        for site, n in sorted(self.counts.site_bytes.items()):
            volume.add_metric([site], n)
        info = GaugeMetricFamily("opsmon_flow_exporter_info", "Each configured exporter's link, its site and what "
                                 "the inventory says it is (inventory: link, not_link or unknown), value 1",
                                 labels=["exporter", "link", "site", "inventory"])
        for exporter, (site, state) in sorted(self.counts.placements.items()):
            info.add_metric([exporter, self.counts.links.get(exporter, ""), site, state], 1)
        yield from (volume, info)


class Hj212Collector(Collector):
    """The HJ 212 receiver's frames and refusals by DAU (configured MNs; `unknown` for the rest), its
    connections and answers (inputs/hj212/receiver.py)."""

    def __init__(self, counts: Any) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        c = self.counts
        accepted = CounterMetricFamily("opsmon_hj212_frames_accepted", "HJ 212 frames accepted, by DAU MN",
                                       labels=["dau"])
        for mn, n in list(c.accepted.items()):
            accepted.add_metric([mn], n)
        refused = CounterMetricFamily("opsmon_hj212_frames_refused", "HJ 212 frames refused, by reason and DAU MN "
                                      "(frames of no configured DAU: dau=\"unknown\")", labels=["reason", "dau"])
        for (reason, mn), n in list(c.refused.items()):
            refused.add_metric([reason, mn], n)
        answers = CounterMetricFamily("opsmon_hj212_answers", "Answers sent to DAUs, by CN (9014, 9013, 1012)",
                                      labels=["cn"])
        for cn, n in list(c.answers.items()):
            answers.add_metric([cn], n)
        withheld = CounterMetricFamily("opsmon_hj212_answers_withheld", "9014 answers not sent because the store "
                                       "did not commit the data in time, or the relay could not queue the frame (the "
                                       "DAU sends again)")
        withheld.add_metric([], c.withheld)
        oversize = CounterMetricFamily("opsmon_hj212_frames_oversize", "Accepted HJ 212 frames whose data segment "
                                       "is over the standard's 1024 bytes")
        oversize.add_metric([], c.oversize)
        split = CounterMetricFamily("opsmon_hj212_split_dropped", "Split HJ 212 messages given up (parts missing)")
        split.add_metric([], c.split_dropped)
        conns = GaugeMetricFamily("opsmon_hj212_connections", "DAU connections open now")
        conns.add_metric([], c.connections)
        turned = CounterMetricFamily("opsmon_hj212_connections_refused", "DAU connections closed at once "
                                     "(hj212.max_connections reached)")
        turned.add_metric([], c.connections_refused)
        yield from (accepted, refused, answers, withheld, oversize, split, conns, turned)
        yield from self._relay(c.relay)
        if c.history is not None:
            h = c.history
            for name, value, text in (
                    ("history_requests", h.requests, "History requests (2061 with BeginTime/EndTime) sent to units"),
                    # hourly values, not hours: a name with `hours` is a unit to promtool (it wants seconds)
                    ("history_hourly_values_asked", h.hours_asked, "Missing hourly values the history requests "
                                                                   "asked for"),
                    ("history_hourly_values_recovered", h.recovered, "Hourly values asked for by a history request "
                                                                     "and stored since")):
                family = CounterMetricFamily(f"opsmon_hj212_{name}", text)
                family.add_metric([], value)
                yield family

    @staticmethod
    def _relay(stats: Any) -> Iterator[Metric]:
        """Per upstream of the relay (inputs/hj212/relay.py), every configured one from zero."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        for name, kind, attr, text in (
                ("queued", GaugeMetricFamily, "queued", "Frames in the relay's disk queue for the upstream"),
                ("sent", CounterMetricFamily, "sent", "Frames delivered to the upstream"),
                ("dropped", CounterMetricFamily, "dropped", "Frames not queued for the upstream: its queue was full"),
                ("connected", GaugeMetricFamily, "connected", "1 while the relay's connection to the upstream is up"),
                ("answers", CounterMetricFamily, "answers", "The upstream's 9014/9013 read and consumed (never "
                                                            "forwarded to the unit)"),
                ("resent", CounterMetricFamily, "resent", "Frames sent to the upstream again (no 9014 in time)"),
                ("unanswered", CounterMetricFamily, "unanswered", "Frames the upstream never answered, given up "
                                                                  "after 3 sends (counted as sent too)")):
            family = kind(f"opsmon_hj212_relay_{name}", text, labels=["upstream"])
            for upstream, st in sorted(stats.items()):
                family.add_metric([upstream], getattr(st, attr))
            yield family


class Hj212RatesCollector(Collector):
    """应传/实传/有效 hours and the three rates of the running half-month per DAU point x factor
    (sla/hj212_live.py), from the SLA worker's last snapshot.

    Cardinality: 6 series per assessed (point, factor) of the inventory, whatever the traffic. Every one is there
    from the first refresh after start, the hours at 0; a rate is absent while its denominator is 0 (no hour due
    yet, or for the effective rate nothing transmitted), as `opsmon hj212 rates` prints "-" for it.
    """

    LABELS = ["asset", "mn", "site", "enterprise", "point", "factor"]
    HOURS = {"should": "应传: the half-month's complete hours less exempt ones",
             "transmitted": "实传: due hours whose hourly value (CN 2061) arrived by the correction deadline",
             "effective": "有效: transmitted hours with an effective flag (N by default)"}

    def __init__(self, snapshot: Callable[[], Any]) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        figures = self.snapshot()
        hours = {k: GaugeMetricFamily(f"opsmon_hj212_{k}_hourly_values", f"HJ 212 {text}, per DAU point and "
                                      "factor, running half-month", labels=self.LABELS)
                 for k, text in self.HOURS.items()}
        rates = {
            "transmission": GaugeMetricFamily("opsmon_hj212_transmission_ratio", "HJ 212 传输率 实传/应传 of the "
                                              "running half-month, per DAU point and factor", labels=self.LABELS),
            "effective": GaugeMetricFamily("opsmon_hj212_effective_ratio", "HJ 212 有效率 有效/实传 (or /应传, the "
                                           "target's denominator) of the running half-month", labels=self.LABELS),
            "rate": GaugeMetricFamily("opsmon_hj212_effective_transmission_ratio", "HJ 212 传输有效率 (transmission "
                                      "x effective rate) of the running half-month", labels=self.LABELS)}
        start = GaugeMetricFamily("opsmon_hj212_period_start_timestamp_seconds", "Start of the running half-month "
                                  "the opsmon_hj212_* hours count from (1st or 16th, 00:00 local time)")
        if figures is not None:
            start.add_metric([], figures.start)
            for r in figures.rows:
                labels = [r.asset, r.mn, r.site, r.enterprise, r.point, r.factor]
                c = r.counts
                for k, fam in hours.items():
                    fam.add_metric(labels, getattr(c, k))
                for k, value in (("transmission", c.transmission_rate()), ("effective",
                                 c.effective_rate(figures.denominator)), ("rate", c.rate(figures.denominator))):
                    if value is not None:
                        rates[k].add_metric(labels, value)
        yield from hours.values()
        yield from rates.values()
        yield start


class NotifyCollector(Collector):
    """Notification health per channel (notify/delivery.py's Stats), every configured channel from zero, so a
    rule on a channel that has never delivered sees it (issue 18: a dead path was invisible)."""

    HELP = {
        "attempted": "Delivery attempts (each retry counts), by channel",
        "delivered": "Notices delivered, by channel",
        "failed": "Notices given up after the last attempt or a permanent error, by channel",
        "dropped": "Notices dropped untried because the channel's queue was full, by channel",
        "fallback": "Notices handed to this channel because every channel they were sent to failed",
    }

    def __init__(self, dispatcher: Any) -> None:
        self.dispatcher = dispatcher

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily

        types = self.dispatcher.types()
        stats = dict(self.dispatcher.stats)
        for field, text in self.HELP.items():
            fam = CounterMetricFamily(f"opsmon_notifications_{field}", text, labels=["channel", "type"])
            for name, st in stats.items():
                fam.add_metric([name, types[name]], getattr(st, field))
            yield fam
        queued = GaugeMetricFamily("opsmon_notification_queue_length",
                                   "Notices waiting in the channel's queue (a rate-limited robot's backlog)",
                                   labels=["channel", "type"])
        for name, n in self.dispatcher.queued().items():
            queued.add_metric([name, types[name]], n)
        yield queued


class StoreCollector(Collector):
    """Whether the store can be written now, and its failed writes and refused operations since start."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily

        healthy = GaugeMetricFamily("opsmon_store_healthy", "1 while the store writer runs and its last commit "
                                    "succeeded in time, 0 while commits fail or stall (the reason is in the log and "
                                    "GET /api/v1/health)")
        healthy.add_metric([], 1.0 if self.writer.healthy else 0.0)
        failures = CounterMetricFamily("opsmon_store_write_failures", "Failed store write attempts since start")
        failures.add_metric([], self.writer.failures)
        dropped = CounterMetricFamily("opsmon_store_dropped_ops", "Operations the store refused for good since "
                                      "start (each set aside alone and logged)")
        dropped.add_metric([], self.writer.dropped)
        yield from (healthy, failures, dropped)


class LoopCollector(Collector):
    """How late the collector's event loop is, and its stalls (service/loopwatch.py's LoopWatch)."""

    def __init__(self, watch: Any) -> None:
        self.watch = watch

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily

        lag = GaugeMetricFamily("opsmon_event_loop_lag_seconds", "How late the event loop is on its beat now (every "
                                "answer of the collector waits as long)")
        lag.add_metric([], self.watch.lag)
        stalls = CounterMetricFamily("opsmon_event_loop_stalls", "Times the event loop was held past 1 s since start "
                                     "(the log names the function each time)")
        stalls.add_metric([], self.watch.stalls)
        longest = GaugeMetricFamily("opsmon_event_loop_longest_stall_seconds", "The longest stall since start")
        longest.add_metric([], self.watch.longest)
        yield from (lag, stalls, longest)


class CollectorMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        # No `_created` series: a second sample per counter and histogram that no rule or dashboard reads
        # (issue 20). The switch is prometheus_client's, process-wide; the collector's process has no other use.
        disable_created_metrics()
        self.registry = registry or CollectorRegistry()
        self.snmp: Any = None  # inputs/snmp/exposition.py's SnmpExposition, once watch_snmp is called
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.check_duration = Histogram("opsmon_check_duration_seconds", "Time a check run took",
                                        ["type"], buckets=DURATION_BUCKETS, registry=self.registry)
        self.check_results = Counter("opsmon_check_results_total", "Check results by type and status",
                                     ["type", "status"], registry=self.registry)
        self.scheduler_lag = Histogram("opsmon_scheduler_lag_seconds",
                                       "Delay from a check's scheduled time to its start, slot wait included",
                                       buckets=LAG_BUCKETS, registry=self.registry)
        self.scheduler_skipped = Counter("opsmon_scheduler_skipped_total",
                                         "Check runs skipped because the previous run had not finished",
                                         registry=self.registry)
        self.scheduler_missed = Counter("opsmon_scheduler_missed_total",
                                        "Check runs dropped because they were later than their misfire grace time",
                                        registry=self.registry)
        self.store_queue = Gauge("opsmon_store_queue_length", "Timeline operations waiting to be written",
                                 registry=self.registry)
        Info("opsmon_build", "The collector's version and Python (always 1)", registry=self.registry).info(
            {"version": __version__, "python_version": platform.python_version()})
        self.sla_refreshed = Gauge("opsmon_sla_last_refresh_timestamp_seconds",
                                   "When the SLA worker last computed the quarter-to-date figures (at start: the "
                                   "start time, so a worker that never succeeds turns stale too)",
                                   registry=self.registry)
        self.sla_refresh_failures = Counter("opsmon_sla_refresh_failures_total",
                                            "SLA refreshes that failed (the worker died or raised)",
                                            registry=self.registry)

        from opsmon.collector.incidents.links import REFUSALS

        self.ack_link_refusals = Counter("opsmon_ack_link_refusals_total", "Acknowledge-link attempts refused, "
                                         "by reason: forged, expired, used, unknown, bad_code, bad_login",
                                         ["reason"], registry=self.registry)
        for reason in REFUSALS:
            self.ack_link_refusals.labels(reason)

    def watch_store(self, writer: Any) -> None:
        """The store writer's health and its counts since start (store/writer.py's StoreWriter), read at scrape
        time: the queue as a gauge, failures and refusals as counters, so rate() and increase() apply."""
        self.store_queue.set_function(lambda: writer.queue.qsize())
        self.registry.register(StoreCollector(writer))

    def watch_loop(self, watch: Any) -> None:
        self.registry.register(LoopCollector(watch))

    def watch_agents(self, ingest: Any) -> None:
        self.registry.register(AgentCollector(ingest))

    def watch_icmp(self, seen: dict[tuple[str, str], tuple[float | None, float]]) -> None:
        self.registry.register(IcmpCollector(seen))

    def watch_security(self, book: Any) -> None:
        self.registry.register(SecurityCollector(book))

    def watch_certs(self, expiry: dict[tuple[str, str], float]) -> None:
        self.registry.register(CertCollector(expiry))

    def watch_incidents(self, engine: Any) -> None:
        """Gauges at scrape time; time-to-acknowledge observed as it happens, time-to-resolve once per incident.

        Time-to-resolve is observed when the incident closes (resolved for good: quiet_time passed without a
        reopen), from its opening to its last resolution: a flapping incident's every recovery would otherwise
        add a sample measured from the first opening (issue 18). Every kind and severity exists from zero.
        """
        from opsmon.collector.core.incidents import KINDS, SEVERITIES

        self.registry.register(IncidentCollector(engine))
        buckets = (60, 300, 600, 900, 1800, 2700, 3600, 7200, 14400, 43200, 86400)
        ack = Histogram("opsmon_incident_time_to_acknowledge_seconds", "Opened to acknowledged",
                        ["kind", "severity"], buckets=buckets, registry=self.registry)
        res = Histogram("opsmon_incident_time_to_resolve_seconds",
                        "Opened to the last resolution, observed once when the incident closes",
                        ["kind", "severity"], buckets=buckets, registry=self.registry)

        for kind in KINDS:
            for severity in SEVERITIES:
                ack.labels(kind, severity)
                res.labels(kind, severity)

        def observe(inc: Any, action: str, _actor: str, _detail: dict) -> None:
            if action == "acknowledged" and inc.acknowledged:
                ack.labels(inc.kind, inc.severity).observe((inc.acknowledged - inc.opened).total_seconds())
            elif action == "closed" and inc.resolved:
                res.labels(inc.kind, inc.severity).observe((inc.resolved - inc.opened).total_seconds())

        engine.on_change.append(observe)

    def watch_notify(self, dispatcher: Any) -> None:
        self.registry.register(NotifyCollector(dispatcher))

    def watch_snmp(self, hub: Any, export_rates: bool = False) -> None:
        """The polled devices' series, encoded once per poll and appended to the registry's page by `render`
        (inputs/snmp/exposition.py: prometheus_client would rebuild them at every scrape and rename counters)."""
        from opsmon.collector.inputs.snmp.exposition import SnmpExposition

        self.snmp = SnmpExposition(hub, export_rates)

    def render(self) -> bytes:
        """The whole /metrics page in Prometheus' text format: the registry's families, then the SNMP ones."""
        body = generate_latest(self.registry)
        return body + self.snmp.render() if self.snmp is not None else body

    def watch_traps(self, counts: Any) -> None:
        self.registry.register(TrapCollector(counts))

    def watch_forwarded_traps(self, traps: Any) -> None:
        self.registry.register(ForwardedTrapCollector(traps))

    def watch_flows(self, counts: Any) -> None:
        self.registry.register(FlowCollector(counts))

    def watch_hj212(self, counts: Any) -> None:
        self.registry.register(Hj212Collector(counts))

    def watch_hj212_rates(self, snapshot: Callable[[], Any]) -> None:
        """The HJ 212 hours and rates of the half-month from the SLA worker's last figures (sla/hj212_live.py)."""
        self.registry.register(Hj212RatesCollector(snapshot))

    def watch_sla(self, snapshot: Callable[[], PeriodResult | None]) -> None:
        self.registry.register(SlaCollector(snapshot))

    def watch_states(self, snapshot: Callable[[], Iterable[tuple[str, str, str, str, str]]]) -> None:
        self.registry.register(StateCollector(snapshot))
