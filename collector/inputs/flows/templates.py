"""NetFlow v9 and IPFIX state: the templates of each exporter and observation domain, and the data sets
that arrived before their template.

A template is known per (exporter address, version, source id / observation domain, template id)
(RFC 3954 section 5.2, RFC 7011 section 8): two exporters, or two line cards of one, may use the same
template id for different layouts. Both bounds hold against a flood of templates or of orphan data:
at most `max_templates` templates (the least recently used goes), and at most `pending_sets` data sets
waiting for their template (the oldest goes, counted through `on_drop` as reason `no_template`). Options
templates (v9 set 1, IPFIX set 3) and the data they describe are skipped: they carry the exporter's
sampling and interface tables, not flows.

    decoder = Decoder(max_templates=1000, pending_sets=64, on_drop=lambda source: ...)
    flows = decoder.decode(datagram, "10.0.0.1")   # raises Refused for a bad datagram
"""
from __future__ import annotations

import struct
from collections import OrderedDict, deque
from collections.abc import Callable

from opsmon.collector.inputs.flows.decode import (
    IPFIX_HEADER,
    SET_HEADER,
    V9_HEADER,
    Flow,
    Refused,
    Template,
    v5,
)
from opsmon.collector.inputs.flows.sflow import is_sflow, sflow

EMPTY = Template.compile(())  # an options template's stand-in: its data sets yield nothing
Key = tuple[str, int, int, int]  # exporter, version, source id / domain, template id
TEMPLATE_SET = {9: 0, 10: 2}  # the set id of data templates
OPTIONS_SET = {9: 1, 10: 3}  # the set id of options templates (skipped)


class Decoder:
    """Decodes NetFlow v5, v9, IPFIX and sFlow v5 datagrams (sflow.py), holding the templates between datagrams."""

    def __init__(self, max_templates: int = 1000, pending_sets: int = 64,
                 on_drop: Callable[[str], None] = lambda _source: None) -> None:
        self.max_templates = max_templates
        self.pending_sets = pending_sets
        self.on_drop = on_drop
        self.templates: OrderedDict[Key, Template] = OrderedDict()
        self.pending: deque[tuple[Key, bytes]] = deque()
        self.options_skipped = 0  # options templates seen: their data sets are skipped

    def decode(self, data: bytes, exporter: str) -> list[Flow]:
        """The flows of one datagram (with those of waiting data sets its templates unlock)."""
        if len(data) < 2:
            raise Refused("truncated", f"datagram of {len(data)} bytes")
        if is_sflow(data):
            return sflow(data)
        version = int.from_bytes(data[:2], "big")
        if version == 5:
            return v5(data)
        if version == 9:
            if len(data) < V9_HEADER.size:
                raise Refused("truncated", f"v9 datagram of {len(data)} bytes, shorter than its header")
            domain = V9_HEADER.unpack_from(data)[5]
            return self._sets(data, V9_HEADER.size, len(data), exporter, 9, domain)
        if version == 10:
            if len(data) < IPFIX_HEADER.size:
                raise Refused("truncated", f"IPFIX message of {len(data)} bytes, shorter than its header")
            _version, length, _time, _sequence, domain = IPFIX_HEADER.unpack_from(data)
            if length > len(data):
                raise Refused("truncated", f"IPFIX message says {length} bytes, {len(data)} came")
            if length < len(data) or length < IPFIX_HEADER.size:
                raise Refused("malformed", f"IPFIX message says {length} bytes, {len(data)} came")
            return self._sets(data, IPFIX_HEADER.size, length, exporter, 10, domain)
        raise Refused("version", f"version {version} is not NetFlow v5, v9, IPFIX (10) or sFlow v5")

    def _sets(self, data: bytes, at: int, end: int, exporter: str, version: int, domain: int) -> list[Flow]:
        """Walk the (flow)sets: templates first learned, then the data sets decoded in order."""
        flows: list[Flow] = []
        while at < end:
            if end - at < SET_HEADER.size:
                raise Refused("truncated", f"{end - at} bytes after the last set, less than a set header")
            set_id, length = SET_HEADER.unpack_from(data, at)
            if length < SET_HEADER.size:
                raise Refused("malformed", f"set {set_id} says {length} bytes, less than its header")
            if at + length > end:
                raise Refused("truncated", f"set {set_id} of {length} bytes runs past the datagram's end")
            body = data[at + SET_HEADER.size:at + length]
            if set_id == TEMPLATE_SET[version]:
                for key in self._learn(body, exporter, version, domain):
                    flows.extend(self._unlock(key))
            elif set_id == OPTIONS_SET[version]:
                for key in self._options(body, exporter, version, domain):
                    self._unlock(key)  # their data sets, waiting, are dropped without a count: they are no flows
            elif set_id >= 256:
                key = (exporter, version, domain, set_id)
                template = self.templates.get(key)
                if template is not None:
                    self.templates.move_to_end(key)
                    flows.extend(template.flows(body))
                else:
                    self._wait(key, body)
            else:
                raise Refused("malformed", f"set id {set_id} is reserved")
            at += length
        return flows

    def _learn(self, body: bytes, exporter: str, version: int, domain: int) -> list[Key]:
        """The templates of one template set, stored; their keys (a withdrawal, IPFIX field count 0, removes)."""
        keys, at = [], 0
        while len(body) - at >= 4:
            template_id, count = SET_HEADER.unpack_from(body, at)
            at += 4
            if template_id == 0 and count == 0:
                break  # padding (RFC 3954 section 5.3, RFC 7011 section 3.3.1)
            if template_id < 256:
                raise Refused("malformed", f"template id {template_id} below 256")
            key = (exporter, version, domain, template_id)
            if count == 0:
                self.templates.pop(key, None)
                continue
            fields = []
            for _ in range(count):
                if len(body) - at < 4:
                    raise Refused("truncated", f"template {template_id} of {count} fields runs past its set")
                element, length = SET_HEADER.unpack_from(body, at)
                at += 4
                if version == 10 and element & 0x8000:  # an enterprise element: 4 more bytes, never one we read
                    if len(body) - at < 4:
                        raise Refused("truncated", f"template {template_id} runs past its set")
                    at += 4
                    element = -1
                elif version == 9 and length == 65535:
                    raise Refused("malformed", "variable length in a v9 template")
                fields.append((element, length))
            self._hold(key, Template.compile(tuple(fields)))
            keys.append(key)
        return keys

    def _options(self, body: bytes, exporter: str, version: int, domain: int) -> list[Key]:
        """The ids of an options template set's templates, held with an empty template: their data (the exporter's
        sampling and interface tables) is then skipped, neither decoded nor waiting as if its template were due.
        v9 (RFC 3954 section 6.1): id, scope length, options length in bytes; IPFIX (RFC 7011 section 3.4.2.2):
        id, field count, scope field count, then the field specifiers."""
        keys, at = [], 0
        while len(body) - at >= 6:
            template_id, first, second = struct.unpack_from(">HHH", body, at)
            at += 6
            if template_id < 256:
                if template_id == 0:
                    break  # padding
                raise Refused("malformed", f"options template id {template_id} below 256")
            if version == 9:
                at += first + second
            else:
                for _ in range(first):
                    if len(body) - at < 4:
                        raise Refused("truncated", f"options template {template_id} runs past its set")
                    element = int.from_bytes(body[at:at + 2], "big")
                    at += 8 if element & 0x8000 else 4
            if at > len(body):
                raise Refused("truncated", f"options template {template_id} runs past its set")
            key = (exporter, version, domain, template_id)
            self._hold(key, EMPTY)
            self.options_skipped += 1
            keys.append(key)
        return keys

    def _hold(self, key: Key, template: Template) -> None:
        self.templates[key] = template
        self.templates.move_to_end(key)
        while len(self.templates) > self.max_templates:
            self.templates.popitem(last=False)

    def _wait(self, key: Key, body: bytes) -> None:
        if self.pending_sets == 0:
            self.on_drop(key[0])
            return
        self.pending.append((key, body))
        while len(self.pending) > self.pending_sets:
            self.on_drop(self.pending.popleft()[0][0])

    def _unlock(self, key: Key) -> list[Flow]:
        """The flows of the data sets that waited for this template, in their order of arrival."""
        if not any(k == key for k, _ in self.pending):
            return []
        template = self.templates[key]
        flows: list[Flow] = []
        rest: deque[tuple[Key, bytes]] = deque()
        for waiting, body in self.pending:
            if waiting == key:
                try:
                    flows.extend(template.flows(body))
                except Refused:
                    self.on_drop(key[0])
            else:
                rest.append((waiting, body))
        self.pending = rest
        return flows
