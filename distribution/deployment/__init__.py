"""Making an installation ready to run (``ardis setup``): Ardis's database, Airflow's pools, the connections.

No Airflow imports: what it needs of Airflow comes through the ``Airflow`` protocol, which the
command implements over the api-server's REST API.
"""

from distribution.deployment.setup import (DEFAULT_MAX_DELIVERIES, Airflow, PoolChange, PoolWanted, SetupReport,
                                           max_deliveries, named_connections, render_report, run_setup,
                                           wanted_pools)

__all__ = ["DEFAULT_MAX_DELIVERIES", "Airflow", "PoolChange", "PoolWanted", "SetupReport", "max_deliveries",
           "named_connections", "render_report", "run_setup", "wanted_pools"]
