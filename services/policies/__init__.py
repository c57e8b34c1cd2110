"""Managing a tenant's SLA policy versions (issue 14): the store of versions (``log``: the
PolicyLog port, ``kafka_log``: it on the compacted ``policies`` topic), publishing a new version
(``publish``: numbering, lead time, order, the concurrency check), comparing two (``diff``),
and the admin API over them (``router``). The worker's pick-up of versions is in streams/."""
