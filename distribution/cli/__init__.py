"""The ``ardis`` command, one module per command group; above the domain, which never imports it.

* main.py — the entry point, database/archive/order/FTP-server commands, exit codes
* ingest.py, media.py, subscriptions.py, products.py, phase3.py — their command groups
* rights.py — `ardis granule rights` (release date, owner group) and `ardis user groups`
* airflow.py — how the command reaches Airflow: its REST API with a token (start a request's run,
  check a connection); the one path from the command line into Airflow
"""
