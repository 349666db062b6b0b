"""ESO Phase 3 on the web (seed 000): the JSON API (``/ardis/api/phase3``) and the PIs' and CoIs' pages
(``/ardis/portal/phase3/``).

* access.py — who is asking (PI, CoI, operator) and which releases they may see;
* api.py — the JSON API, for scripts and pages;
* pages.py — server-rendered pages: my releases, a release (state, history, error report, upload
  instructions, close button, CONTENT.ESO and the release description once archived).
"""

from __future__ import annotations

from ardis_airflow.web.phase3.api import router
from ardis_airflow.web.phase3.pages import PAGES
from ardis_airflow.web.phase3.pages import router as pages

__all__ = ["PAGES", "pages", "router"]
