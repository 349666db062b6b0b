"""Ardis archive and distribution domain: inventory, orders, staging, delivery, notices.

Never imports Airflow: Airflow glue lives under ``plugins/``.
"""
