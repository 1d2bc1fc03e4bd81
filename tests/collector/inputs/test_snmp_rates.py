"""Counter rates computed by hand: 32/64-bit wrap, reboot, reset, absurd values, clock steps."""
from __future__ import annotations

from opsmon.collector.config.snmp_profiles import load_profiles
from opsmon.collector.inputs.snmp.counters import WRAP32, Sample, counter_rate, rebooted
from opsmon.collector.inputs.snmp.poller import DeviceState, Poll, compute_rates

IF = load_profiles()["interfaces"]


def test_plain_delta() -> None:
    assert counter_rate(Sample(1_000, 100.0, 500), Sample(61_000, 160.0, 6_500), 64) == (1_000.0, "")


def test_32_bit_wrap_adds_2_to_the_32() -> None:
    # 4294967000 -> 200 in 10 s: (296 + 200) / 10 = 49.6 per second
    rate, why = counter_rate(Sample(4_294_967_000, 0.0, 100), Sample(200, 10.0, 1_100), 32)
    assert (rate, why) == (49.6, "")


def test_64_bit_going_backwards_is_a_reset_not_a_wrap() -> None:
    assert counter_rate(Sample(5_000_000, 0.0, 100), Sample(10, 10.0, 1_100), 64) == (None, "reset")


def test_reboot_seen_in_sysuptime_gives_no_rate_even_if_the_counter_grew() -> None:
    # The counter restarted from 0 and by chance is higher than before: only sysUpTime tells.
    assert counter_rate(Sample(100, 0.0, 900_000), Sample(5_000, 60.0, 3_000), 32) == (None, "reboot")


def test_sysuptime_wrapping_at_497_days_is_not_a_reboot() -> None:
    assert not rebooted(WRAP32 - 2_000, 4_000, 60.0)  # 20 s before the wrap, 40 s after it
    assert rebooted(WRAP32 - 200_000, 4_000, 60.0)  # 33 minutes before the "wrap": a reboot
    assert rebooted(900_000, 3_000, 60.0)


def test_a_wrap_faster_than_the_interface_is_refused_a_plain_delta_never() -> None:
    # 10 Mbit/s port = 1,250,000 bytes/s; ceiling with 10% slack = 1,375,000 B/s.
    # A 32-bit wrap adding up to 13,000,000 bytes in 10 s (1.3 MB/s) is believed ...
    ok = counter_rate(Sample(WRAP32 - 3_000_000, 0.0), Sample(10_000_000, 10.0), 32, ceiling=1_250_000)
    assert ok == (1_300_000.0, "")
    # ... one adding up to 14,000,000 is not: the counter was reset, or wrapped twice
    assert counter_rate(Sample(WRAP32 - 4_000_000, 0.0), Sample(10_000_000, 10.0), 32,
                        ceiling=1_250_000) == (None, "absurd")
    # a loopback that claims 10 Mbit/s but moves 100 MB/s without wrapping keeps its true rate
    assert counter_rate(Sample(0, 0.0), Sample(1_000_000_000, 10.0), 64, ceiling=1_250_000) == (100_000_000.0, "")


def test_no_elapsed_time_or_clock_going_back_gives_no_rate() -> None:
    assert counter_rate(Sample(0, 10.0), Sample(100, 10.0), 64) == (None, "clock")
    assert counter_rate(Sample(0, 10.0), Sample(100, 5.0), 64) == (None, "clock")


def _poll(at: float, uptime: int, rows: dict[str, dict], raw: dict) -> Poll:
    return Poll(at, uptime, {}, {"if": rows}, raw, 0)


def _rows(speed_mbps: int) -> dict[str, dict]:
    return {"1": {"ifName": "ge-0/0/1", "ifHighSpeed": speed_mbps}}


def test_interface_rates_across_polls_by_hand() -> None:
    state = DeviceState("sw", profiles=(IF,))
    first = _poll(1000.0, 10_000, _rows(100), {("if", "1", "ifHCInOctets"): 1_000_000,
                                                 ("if", "1", "ifInErrors"): 4_294_967_290})
    compute_rates(state, first)
    state.last = first
    assert state.rates == {}  # one sample: no rate yet
    second = _poll(1060.0, 16_000, _rows(100), {("if", "1", "ifHCInOctets"): 61_000_000,
                                                  ("if", "1", "ifInErrors"): 4})
    compute_rates(state, second)
    state.last = second
    rates = state.rates["if"]["1"]
    # 60,000,000 bytes in 60 s = 1,000,000 B/s = 8,000,000 bit/s (under 100 Mbit/s)
    assert rates["opsmon_if_in_bits_per_second"] == 8_000_000.0
    # errors wrapped: 4294967290 -> 4 is 10 errors in 60 s
    assert abs(rates["opsmon_if_in_errors_per_second"] - 10 / 60) < 1e-12
    # reboot: sysUpTime back to 1,000 ticks; counters restarted; no rate, counted
    third = _poll(1120.0, 1_000, _rows(100), {("if", "1", "ifHCInOctets"): 70_000_000,
                                                ("if", "1", "ifInErrors"): 10})
    compute_rates(state, third)
    state.last = third
    assert state.rates == {}
    assert state.discarded["reboot"] == 1
    # after the reboot, rates resume from the new samples
    fourth = _poll(1180.0, 7_000, _rows(100), {("if", "1", "ifHCInOctets"): 70_600_000,
                                                 ("if", "1", "ifInErrors"): 10})
    compute_rates(state, fourth)
    assert state.rates["if"]["1"]["opsmon_if_in_bits_per_second"] == 80_000.0
    assert state.rates["if"]["1"]["opsmon_if_in_errors_per_second"] == 0.0


def test_device_without_hc_counters_falls_back_to_32_bit_octets_with_wrap() -> None:
    state = DeviceState("old", profiles=(IF,))
    first = _poll(0.0, 100, _rows(10), {("if", "1", "ifInOctets"): WRAP32 - 1_000})
    compute_rates(state, first)
    state.last = first
    assert ("if", "ifInOctets") in state.promoted  # now read every poll, not only on static refreshes
    second = _poll(10.0, 1_100, _rows(10), {("if", "1", "ifInOctets"): 9_000})
    compute_rates(state, second)
    # (1,000 + 9,000) bytes in 10 s = 1,000 B/s = 8,000 bit/s
    assert state.rates["if"]["1"]["opsmon_if_in_bits_per_second"] == 8_000.0


def test_a_counter_reset_without_reboot_is_caught_by_the_speed_ceiling() -> None:
    state = DeviceState("sw", profiles=(IF,))
    first = _poll(0.0, 100, _rows(10), {("if", "1", "ifInOctets"): 500_000})
    compute_rates(state, first)
    state.last = first
    # a line card swap zeroed the 32-bit counter: "wrapped" delta = 2**32 - 500000 + 100 in 60 s
    # = 71.6 MB/s, over a 10 Mbit/s (1.25 MB/s) port: refused, not stored
    second = _poll(60.0, 6_100, _rows(10), {("if", "1", "ifInOctets"): 100})
    compute_rates(state, second)
    assert "opsmon_if_in_bits_per_second" not in state.rates.get("if", {}).get("1", {})
    assert state.discarded["absurd"] == 1


def test_exposition_numbers_are_written_as_prometheus_client_writes_them() -> None:
    """exposition.number() stands in for prometheus_client's floatToGoString (so a site poller's /metrics does not
    load prometheus_client). By hand: an int as is; a float as repr() until its integer part has 7 digits, then
    Go's exponent, trailing zeros and dot dropped: 1234567.0 -> 1.234567e+06, 12345678.9 -> 1.23456789e+07;
    123456.0 (6 digits) stays; negatives and small numbers as repr(); infinities +Inf/-Inf, NaN."""
    import math

    from prometheus_client.utils import floatToGoString

    from opsmon.collector.inputs.snmp.exposition import number

    cases = {7: "7", 2**64 - 1: "18446744073709551615", 0.0: "0.0", 8e-06: "8e-06", 123456.0: "123456.0",
             1234567.0: "1.234567e+06", 12345678.9: "1.23456789e+07", 8000.0: "8000.0", -12345678.5: "-12345678.5",
             math.inf: "+Inf", -math.inf: "-Inf", math.nan: "NaN"}
    for value, text in cases.items():
        assert number(value) == text, (value, number(value))
        if isinstance(value, float):
            assert floatToGoString(value) == text, value  # the library agrees
