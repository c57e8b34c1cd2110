"""Stream processing: the pure SLA core (streams.sla) and the Faust worker."""
