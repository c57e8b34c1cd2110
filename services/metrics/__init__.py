"""Prometheus metrics of the long-lived processes, one module per process family, so that each
metric name is defined once: ``ingest`` (the API's ingest routes), ``sink`` (the ClickHouse
sink, in the API or its own process), ``notifier``; the worker's are in streams/metrics.py.
``serve`` starts the small /metrics HTTP server of a process without an API."""
