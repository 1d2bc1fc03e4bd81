"""Incident notifications: what to say (message), where to send it (channels), and how (delivery).

The incident engine builds a `Notice` per incident event and hands it to a
`Dispatcher` with the names of the channels its escalation policy picks.
"""
from __future__ import annotations

from collector.notify.base import Channel, DeliveryError, scrub
from collector.notify.channels import REGISTRY, ChannelConfig, NotifyConfig, RetryPolicy, build_channels
from collector.notify.delivery import Dispatcher, Record
from collector.notify.message import Notice, Person, compose, render

__all__ = [
    "REGISTRY", "Channel", "ChannelConfig", "DeliveryError", "Dispatcher", "Notice", "NotifyConfig", "Person",
    "Record", "RetryPolicy", "build_channels", "compose", "render", "scrub",
]
