"""Agent pools: first-come-first-served multi-server queues whose waits come from load.

A pool is a discrete-event simulation reduced to its recursion: jobs are offered in order of
their ready time; each agent is free from some instant on and works only while its schedule
is open; a job goes to the agent that can start it first. A job whose customer's patience runs
out before that start is abandoned and takes no agent time (M/G/N+G with shifts). This is exact
for FCFS when jobs are offered in ready-time order, which the generator guarantees for the
phone, office and desk pools (contacts are processed in queue-join order). Call-back requests
are offered when their call is processed, so that pool is FCFS by call arrival instead of by
request instant: a small inversion of at most one call's wait plus talk time.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.alerts.erlang import agents_needed
from services.simulator.calendar import Schedule


@dataclass(frozen=True, slots=True)
class Assignment:
    """The outcome of offering one job: who starts it and when (None = abandoned)."""

    agent: int | None
    start: int  # instant service starts, or the instant the customer gave up


class AgentPool:
    """N agents; agent k works while ``schedules[k]`` is open (None = around the clock)."""

    def __init__(self, name: str, schedules: list[Schedule | None]) -> None:
        if not schedules:
            raise ValueError(f"pool {name} needs at least one agent")
        self.name = name
        self.schedules = schedules
        self.free_at = [0] * len(schedules)

    @property
    def size(self) -> int:
        return len(self.schedules)

    def earliest_start(self, ready: int) -> tuple[int, int]:
        """(start instant, agent) of the first agent able to take a job ready at ``ready``."""
        best_start = -1
        best_agent = 0
        for k, free in enumerate(self.free_at):
            candidate = free if free > ready else ready
            schedule = self.schedules[k]
            if schedule is not None:
                candidate = schedule.next_open(candidate)
            if best_start < 0 or candidate < best_start:
                best_start, best_agent = candidate, k
                if candidate == ready:
                    break
        return best_start, best_agent

    def offer(self, ready: int, handle_ms: int, patience_ms: int | None = None) -> Assignment:
        """Queue a job; the chosen agent is busy for ``handle_ms`` from the start."""
        start, agent = self.earliest_start(ready)
        if patience_ms is not None and start - ready > patience_ms:
            return Assignment(None, ready + patience_ms)
        self.free_at[agent] = start + handle_ms
        return Assignment(agent, start)


def agents_for(
    arrivals_per_hour: float, handle_s: float, target_s: float, level: float = 0.8
) -> int:
    """Default staffing: the fewest agents Erlang C says meet ``level`` within ``target_s`` at
    this steady load (at least one). Peaks above that load then produce real queues."""
    advice = agents_needed(arrivals_per_hour, handle_s, threshold_s=target_s, target=level)
    return max(1, advice.agents_needed)
