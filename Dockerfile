# Ardis on Airflow 3.3.2: one image for every service of docker-compose.yml
# (api-server, scheduler, dag-processor, triggerer, Celery workers, the drive host's worker, the FTP pull server).
FROM apache/airflow:3.3.2-python3.11

USER root
# The Debian tools Ardis calls: xorriso/osirrox (ISO images, burning, reading back), cdrecord (wodim) and eject,
# mt (tape), tar, the OpenSSH client (scp pushes), fitsverify (ELT data products), udev (finding the drives).
RUN apt-get update \
    && apt-get install -y --no-install-recommends xorriso wodim eject mt-st tar openssh-client fitsverify udev \
    && apt-get autoremove -yqq --purge \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /opt/ardis /var/lib/ardis \
    && chown -R airflow:root /opt/ardis /var/lib/ardis

USER airflow
WORKDIR /opt/ardis
COPY --chown=airflow:root pyproject.toml README.md ./
COPY --chown=airflow:root distribution ./distribution
COPY --chown=airflow:root media ./media
COPY --chown=airflow:root devkit ./devkit
COPY --chown=airflow:root sql ./sql
COPY --chown=airflow:root dags ./dags
COPY --chown=airflow:root plugins ./plugins
COPY --chown=airflow:root docker ./docker
# Editable: Ardis finds its migrations in /opt/ardis/sql. Airflow stays the image's own 3.3.2.
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -e ".[airflow]"

ENV AIRFLOW__CORE__DAGS_FOLDER=/opt/ardis/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/ardis/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=false \
    PYTHONPATH=/opt/ardis/plugins \
    ARDIS_HOME=/var/lib/ardis
WORKDIR /opt/airflow
