"""Connections from the environment: URIs as given, Airflow JSON connections converted."""

from __future__ import annotations

import json

from hotich.connections import conn_uri, uri_from_json


def test_uri_taken_as_given(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DISTRICT_259", "sqlite:////data/259.sqlite")
    assert conn_uri("district_259") == "sqlite:////data/259.sqlite"


def test_json_connections(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_POPULATION_API",
        json.dumps(
            {
                "conn_type": "http",
                "host": "127.0.0.1",
                "port": 8800,
                "login": "hotich",
                "password": "s/e:c@",
            }
        ),
    )
    assert conn_uri("population_api") == "http://hotich:s%2Fe%3Ac%40@127.0.0.1:8800"
    assert (
        uri_from_json(
            json.dumps(
                {
                    "conn_type": "postgres",
                    "host": "db",
                    "port": 5432,
                    "login": "u",
                    "password": "p",
                    "schema": "civil",
                }
            )
        )
        == "postgresql://u:p@db:5432/civil"
    )
    assert (
        uri_from_json(
            json.dumps(
                {"conn_type": "mysql", "host": "127.0.0.1", "login": "root", "schema": "legacy"}
            )
        )
        == "mysql://root:@127.0.0.1/legacy"
    )
    assert (
        uri_from_json(json.dumps({"conn_type": "sqlite", "host": "/data/x.sqlite"}))
        == "sqlite:////data/x.sqlite"
    )
    assert (
        uri_from_json(
            json.dumps(
                {"conn_type": "http", "host": "https://reg.example", "login": "a", "password": "b"}
            )
        )
        == "https://a:b@reg.example"
    )
