"""An electronic request's life, from the order to the expiry of its pull area.

* placing.py — take an order (``create_order``): granules, method, user; one request per method
* staging.py — link or copy each granule's files into the request's staging directory
* verify.py — check every staged file against the archive's internal checksum
* push.py — the push role over ``distribution.remote`` (FTP, scp/SFTP, SMB, local)
* claims.py — a push claims each file, so overlapping runs send it once
* delivery.py — deliver a request: pull area or push, each file recorded once whole
* reasons.py — the words a failure leaves in the DN
* notify.py — build and queue the DN (ICD Table 4.3.6-1)
* pull_server.py — the read-only FTP server of FtpPull
* destinations.py — which host a push may reach (subscriptions and orders share it)
* housekeeping.py — expire pull areas and staging
"""
