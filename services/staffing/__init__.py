"""Staffing ahead: forecast arrivals and handle time per phone queue and interval, and the agents
they need under Erlang C and Erlang A (docs/staffing.md).

Pure modules: ``erlang_a`` (M/M/N+M arithmetic), ``forecast`` (history rows and ``now`` in,
interval forecast out), ``plan`` (forecast + Erlang -> plan rows). Edges: ``history`` (the
warehouse's SQL) and ``router`` (HTTP).
"""
