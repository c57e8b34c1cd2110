"""Adapters to the outside world (Kafka, ClickHouse) behind the Protocols in services.ports."""
