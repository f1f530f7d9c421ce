"""Where observations go once recorded: the seam alerting plugs into.

The check loop calls every registered sink once per observation it recorded, failing or not
(``observation.failing`` says which: a threshold tripped, an anomaly, or a value that could not be
measured), so a sink can open an alert on a failure and resolve it after passing checks. With no
sink registered nothing happens. A sink that raises is logged and does not undo the observations.
"""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

from batchyard.store import Store
from batchyard.store.models import Observation

logger = logging.getLogger("batchyard.monitor")


@runtime_checkable
class ObservationSink(Protocol):
    def on_observation(self, observation: Observation, store: Store) -> None:
        """Called after ``observation`` was recorded in ``store``."""


SINKS: list[ObservationSink] = []


def add_sink(sink: ObservationSink) -> ObservationSink:
    """Register ``sink``; every later check calls it. Returns it (for removing it later)."""
    SINKS.append(sink)
    return sink


def remove_sink(sink: ObservationSink) -> None:
    if sink in SINKS:
        SINKS.remove(sink)


def notify(observations: list[Observation], store: Store) -> None:
    for sink in list(SINKS):
        for observation in observations:
            try:
                sink.on_observation(observation, store)
            except Exception:
                logger.exception(
                    "observation sink %r failed on %s/%s",
                    sink,
                    observation.monitor,
                    observation.metric,
                )
