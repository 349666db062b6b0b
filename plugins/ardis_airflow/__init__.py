"""Airflow glue for Ardis: task bodies, connections, retry policy, triggering.

Each task body here turns Airflow context (conf, connections) into plain
arguments and calls one function of ``distribution`` (or ``media``).
"""
