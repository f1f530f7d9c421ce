"""Monitors, metric history, trends, anomaly detection, alerts and the channels they go to."""
