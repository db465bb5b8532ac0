"""Looking inside a run: trace it, step through it, find the first NaN, check a gradient."""

from engine.debug.anomaly import AnomalyError, describe, detect_anomaly, find_anomaly
from engine.debug.gradcheck import GradCheck, check_node_grad
from engine.debug.monitor import HealthReport, LayerHealth, Monitor, ParamHealth
from engine.debug.stats import Stats, stats
from engine.debug.stepper import Breakpoint, Event, Stepper, event_stats, has_nonfinite, norm_above
from engine.debug.trace import NodeRecord, Trace, Tracer, in_scope, trace

__all__ = [
    "AnomalyError",
    "Breakpoint",
    "Event",
    "GradCheck",
    "HealthReport",
    "LayerHealth",
    "Monitor",
    "NodeRecord",
    "ParamHealth",
    "Stats",
    "Stepper",
    "Trace",
    "Tracer",
    "check_node_grad",
    "describe",
    "detect_anomaly",
    "event_stats",
    "find_anomaly",
    "has_nonfinite",
    "in_scope",
    "norm_above",
    "stats",
    "trace",
]
