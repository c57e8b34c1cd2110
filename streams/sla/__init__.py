"""The pure SLA core: no Kafka, ClickHouse, HTTP or clock inside; `now` is passed in."""
