"""Monitors: metrics measured on a schedule, kept as history, judged by thresholds, trends and
anomaly detection, and reported.

    spec.py      Monitor and its metric types, read from monitors/*.yaml (or declared in Python)
    files.py     folders and fsspec URLs (s3://, gs://): list with a glob, partition templates, read
    jsonscan.py  is each file valid JSON (or JSON Lines)? a seeded sample, or all
    measures.py  what each metric type reads and the values it gives; probe() before recording
    evaluate.py  thresholds (warn/fail; above, below, outside; value or change) and trends
    anomaly.py   the robust seasonal detector, and mean +/- k standard deviations for comparison
    observe.py   one check of a monitor: measure, judge, record in one transaction, notify
    hooks.py     the seam alerts plug into: sinks called with each recorded observation
    report.py    the report's data; render.py writes it as Markdown, JSON, text or HTML
"""

from batchyard.monitor.hooks import ObservationSink, add_sink, remove_sink
from batchyard.monitor.spec import (
    AnomalySpec,
    Duplicates,
    FileCount,
    Freshness,
    JobHealth,
    JsonValidity,
    Monitor,
    NullRate,
    RowCount,
    Sql,
    SuiteScore,
    Threshold,
    add,
)

__all__ = [
    "AnomalySpec",
    "Duplicates",
    "FileCount",
    "Freshness",
    "JobHealth",
    "JsonValidity",
    "Monitor",
    "NullRate",
    "ObservationSink",
    "RowCount",
    "Sql",
    "SuiteScore",
    "Threshold",
    "add",
    "add_sink",
    "remove_sink",
]
