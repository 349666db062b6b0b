"""The Ardis plugin: what Ardis adds to Airflow's own processes (the api-server above all)."""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin


class ArdisPlugin(AirflowPlugin):
    """Records operators' answers to Ardis's steps in Ardis's database as Airflow stores them."""

    name = "ardis"

    @classmethod
    def on_load(cls, *args: Any, **kwargs: Any) -> None:
        from ardis_airflow.answer_log import listen

        listen()
