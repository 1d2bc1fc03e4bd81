"""The web console at /ui/ (docs/console.md): server-rendered pages over the API's face.

It is an output like the API: it reads the collector only through `CollectorFace`
(opsmon.collector.outputs.api.face), the SLA engine's typed results and the store's read functions, and
writes only through the face's audited commands. Every asset it serves (CSS) is in this package; nothing
loads from outside, so it works air-gapped.
"""
