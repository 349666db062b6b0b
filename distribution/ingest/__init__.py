"""Polling with Delivery Record ingest (ICD 4.5): PDR → PDRD, or pull → verify → archive → PAN.

One PDR is one ingest request, each step a function of its own so that Airflow
runs, retries and shows them, and each finds its half-done work in the database:

* :func:`intake.discover` lists every due provider's directory and records each
  new ``*.PDR`` once (``pdrs``: unique on provider, name and content digest);
* :func:`intake.validate` turns the stored PDR into ingest files, or a PDRD;
* :func:`pull.pull_files` copies the files into ingest staging, checksumming in
  the same pass, and checks FILE_SIZE and the checksum as the provider agreed;
* :func:`insert.archive_files` moves each complete granule into the archive in
  one transaction with its INSERT event, resolves linkage pointers, and builds
  the PAN;
* :func:`respond.respond` writes the PAN or PDRD back to the PDR server and/or
  mails it, then removes the PDR's staging.
"""
