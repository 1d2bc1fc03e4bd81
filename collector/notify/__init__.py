"""Incident notifications: what to say (message), where to send it (channels), and how (delivery).

The incident engine builds a `Notice` per incident event and hands it to a
`Dispatcher` with the names of the channels its escalation policy picks.
"""
from __future__ import annotations

from opsmon.collector.config.notify import ChannelConfig, NotifyConfig, RetryPolicy
from opsmon.collector.notify.base import Channel, DeliveryError, scrub
from opsmon.collector.notify.channels import REGISTRY, build_channels
from opsmon.collector.notify.delivery import Dispatcher, Record
from opsmon.collector.notify.message import Notice, Person, compose, render

__all__ = [
    "REGISTRY", "Channel", "ChannelConfig", "DeliveryError", "Dispatcher", "Notice", "NotifyConfig", "Person",
    "Record", "RetryPolicy", "build_channels", "compose", "render", "scrub",
]
