"""FastAPI services, adapters to Kafka and ClickHouse, settings and the `kontakt` CLI."""
