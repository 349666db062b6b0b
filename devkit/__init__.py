"""Ardis's demo and test harness: never imported by the domain (``distribution``, ``media``).

* demo.py — ``ardis-demo``: every delivery method end to end through real Airflow runs
* sample_data.py — the demo provider's granules, PDRs and orders
* peers.py — local servers to talk to (sshd, FTP, Samba, SMTP) on 127.0.0.1
* airflow_stack.py — start api-server, scheduler and dag-processor for a demo or a test
* operator.py — the stand-in operator answering media steps through Airflow's REST API
"""
