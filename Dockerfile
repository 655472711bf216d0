# The image every Airflow service of docker-compose.yaml runs: Airflow's official image with the
# project's pinned requirements and the project itself installed at build time (nothing is
# installed when a container starts). Build: docker compose build
FROM apache/airflow:3.3.2-python3.11

ENV SCREENFUSE_HOME=/opt/screenfuse/data \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/screenfuse/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False

USER root
RUN mkdir -p /opt/screenfuse/data && chown -R airflow:root /opt/screenfuse
USER airflow
WORKDIR /opt/screenfuse

# requirements first: a code change rebuilds only the last layers
COPY --chown=airflow:root requirements.txt constraints.txt pyproject.toml README.md ./
COPY --chown=airflow:root include ./include
RUN pip install --no-cache-dir -r requirements.txt -c constraints.txt
COPY --chown=airflow:root dags ./dags
COPY --chown=airflow:root plugins ./plugins
COPY --chown=airflow:root sql ./sql
