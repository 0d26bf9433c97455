"""The only place (with ``dags/``) that imports Airflow: tasks, connections, callbacks."""
