# The hotich image: Airflow's official image with the deployable package installed from
# this source tree (`pip install .`) under the pinned runtime set. Nothing of the dev kit
# (devkit/), the tests or requirements-dev.txt goes in (tests/foundation/test_compose.py).
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:0 requirements.txt pyproject.toml README.md /opt/hotich/
COPY --chown=airflow:0 src /opt/hotich/src
RUN pip install --no-cache-dir -r /opt/hotich/requirements.txt \
 && pip install --no-cache-dir --no-deps /opt/hotich
