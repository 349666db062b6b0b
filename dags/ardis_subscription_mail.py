"""Answers subscription e-mails dropped into the incoming maildir (ARDIS_MAILDIR), every minute.

Wiring only. Each message is applied once and acknowledged (Table 4.3.2-1)
through the outbox to its sender, then moved to ``cur/``.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, task

from ardis_airflow import names, policy, subscription_steps

with DAG(
    dag_id=names.SUBSCRIPTION_MAIL_DAG,
    description="Apply and acknowledge subscription requests, updates and cancellations sent by e-mail",
    schedule=timedelta(minutes=1),
    catchup=False,
    max_active_runs=1,
    default_args={**policy.default_args(), "retries": 2},
    tags=["ardis", "subscriptions"],
    doc_md=__doc__,
) as dag:
    task(task_id="answer_incoming_mail")(subscription_steps.answer_incoming_mail)()
