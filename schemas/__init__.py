"""Avro schemas (the source of truth), the event vocabulary and the codec."""
