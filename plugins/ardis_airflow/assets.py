"""Airflow assets Ardis updates: subscriptions listen to granule inserts.

An asset event is a nudge, not the record: the INSERT rows in Ardis's
``granule_events`` table are, and consumers sweep them (several inserts can fold
into one event, and in a race an event can start no run until the next one).
"""

from __future__ import annotations

from airflow.sdk import Asset

GRANULE_INSERTS = Asset(name="ardis_granule_inserts", uri="ardis://granules/insert")
