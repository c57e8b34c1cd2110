"""Contact-event ingest: validation at the edge, pseudonymization (152-FZ), idempotent and
acknowledged publication to Kafka, and channel adapters (services.ingest.adapters)."""
