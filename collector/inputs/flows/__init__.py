"""Flow export in (NetFlow v5, v9 and IPFIX): decoding, templates, per-link aggregation, the UDP receiver."""
