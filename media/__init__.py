"""Ardis physical media: volume planning, ISO images, tape streams, drives.

Knows nothing of orders (never imports ``distribution``) and never imports Airflow.
"""
