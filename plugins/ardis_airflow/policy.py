"""Retries decided by Ardis's error types (ICD 4.5.6: every 10 minutes for 3 hours).

PermanentError fails the task at once; RetryableError is retried on the
configured schedule (short in tests: ARDIS_RETRY_DELAY_SECONDS=1).
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from airflow.sdk.definitions.retry_policy import ExceptionRetryPolicy, RetryAction, RetryRule


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip() else default


def retry_policy() -> ExceptionRetryPolicy:
    return ExceptionRetryPolicy(
        rules=[
            RetryRule(exception="distribution.errors.PermanentError", action=RetryAction.FAIL,
                      reason="permanent error: retrying cannot help"),
            RetryRule(exception="distribution.errors.UserError", action=RetryAction.FAIL,
                      reason="bad request: retrying cannot help"),
            RetryRule(exception="distribution.errors.RetryableError", action=RetryAction.RETRY,
                      reason="transient error: retry later"),
        ],
        default=RetryAction.DEFAULT,
    )


def default_args() -> dict[str, Any]:
    """Task defaults of every Ardis DAG (evaluated when the DAG file is parsed)."""
    delay = _int("ARDIS_RETRY_DELAY_SECONDS", 600)
    return {
        "owner": "ardis",
        "retries": _int("ARDIS_RETRIES", 18),
        "retry_delay": timedelta(seconds=delay),
        "retry_exponential_backoff": False,
        "max_retry_delay": timedelta(seconds=max(delay, _int("ARDIS_MAX_RETRY_DELAY_SECONDS", 600))),
        "retry_policy": retry_policy(),
    }
