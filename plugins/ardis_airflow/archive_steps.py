"""Task body of the weekly archive check: one domain function."""

from __future__ import annotations

import os

from airflow.sdk import get_current_context

from ardis_airflow.connections import notice_transport
from distribution.config import load_settings
from distribution.inventory.check import check_and_report


def check_archive() -> dict[str, int]:
    """This week's pass (resumed if an earlier try stopped half way); operations get the findings."""
    settings = load_settings()
    start = get_current_context()["data_interval_start"]
    year, week, _ = start.isocalendar()
    percent = int(os.environ.get("ARDIS_ARCHIVE_CHECK_PERCENT", "100"))
    return check_and_report(settings, f"{year}-W{week:02d}", percent, lambda: notice_transport(settings))
