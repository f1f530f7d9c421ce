"""``monitor``: check the project's monitors (``monitors/*.yaml``), one item per monitor.

Planning loads every monitor named and checks it can be measured (its folder or bucket is there,
its tables and columns exist): bad input stops the job before anything is recorded. Each item
measures its monitor, judges the values and records them (see :mod:`batchyard.monitor.observe`);
its result lists the observations that failed.
"""

from __future__ import annotations

from typing import Any

from batchyard.config import Settings
from batchyard.engine.context import Context
from batchyard.engine.kinds import Item
from batchyard.errors import BatchyardError, ConfigError
from batchyard.kinds import BUILTIN
from batchyard.kinds.params import MonitorParams
from batchyard.monitor import spec
from batchyard.monitor.measures import probe
from batchyard.monitor.observe import observe


def plan(params: MonitorParams, settings: Settings) -> list[Item]:
    found = spec.pick(settings.root, params.monitors)
    if not found:
        raise ConfigError(
            f"no monitors: add one as {spec.folder(settings.root)}/NAME.yaml (see docs/monitor.md)"
        )
    for monitor in found:
        for i, metric in enumerate(monitor.metrics):
            try:
                probe(metric, settings)
            except BatchyardError as exc:
                where = monitor.path or f"monitor {monitor.name}"
                raise ConfigError(f"{where}: metrics[{i}] ({metric.label}).{exc}") from None
    return [Item(m.name, {"monitor": m.name}) for m in found]


def check(value: dict[str, Any], ctx: Context) -> dict[str, Any]:
    (monitor,) = spec.pick(ctx.settings.root, [value["monitor"]])
    found = observe(monitor, ctx.settings, ctx.store, job_id=ctx.job_id)
    failing = [o for o in found if o.failing]
    for obs in failing:
        ctx.log.warning("%s: %s", obs.metric, obs.message or obs.status.value)
    return {
        "monitor": monitor.name,
        "observations": len(found),
        "failing": [
            {"metric": o.metric, "labels": o.labels, "status": o.status.value, "anomaly": o.anomaly}
            for o in failing
        ],
    }


kind = BUILTIN["monitor"].implement(plan)
kind.item(check)
