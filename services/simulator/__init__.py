"""A deterministic (seeded) simulator of a utility's customer contacts.

``model`` holds tenants and load profiles, ``calendar`` local working time, ``queueing`` the
agent pools whose waits come from load, ``lifecycle`` one contact's events, ``generate`` the
time-ordered event stream, ``sinks`` where the events go (NDJSON, Kafka, the ingest API).
The generator never reads the wall clock or the global ``random``: same config, same bytes.
"""
