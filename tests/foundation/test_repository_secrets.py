"""Secrets come only from Airflow connections or a secrets backend, never from the
repository: no tracked file holds a credential beyond the dev and test fixtures listed
here, each with its reason."""

from __future__ import annotations

import subprocess

from hotich_dev.leakscan import credential_findings
from tests.conftest import REPO

# (path, value): why it may be there. Nothing here opens anything outside this machine.
ALLOWED = {
    ("requirements.txt", "=0.26.0"): "the pinned version of prometheus-client (a package name)",
    ("requirements-dev.txt", "=0.26.0"): "the same pin in the dev set",
    ("devkit/hotich_dev/run.py", "hotich-demo"): "the register simulator's demo client id",
    ("devkit/hotich_dev/run.py", "demo-secret"):
        "the register simulator's demo client (make demo, make run): a dev fixture of a "
        "simulator on 127.0.0.1 that is never deployed",
    ("benchmarks/bench_population_api.py", "bench:secret"):
        "the benchmark's client of the simulator it starts on 127.0.0.1",
    ("benchmarks/bench_population_api.py", "secret"): "the same benchmark client's secret",
    ("docker-compose.yaml", "airflow"):
        "default of POSTGRES_PASSWORD for the compose file's own Airflow metadata database "
        "(the official Airflow compose default); a deployment sets POSTGRES_PASSWORD",
    ("src/hotich/register/client.py", "secret"): "docstring example of the connection URI form",
    ("tests/integration/register_fixtures.py", "s3cr:et/with@odd&chars"):
        "the test client of the simulator; its odd characters test URL-encoding",
    ("tests/integration/test_register_client.py", "s3cr%3Aet%2Fwith%40odd%26chars"):
        "the same test secret, URL-encoded",
    ("tests/integration/test_register_client.py", "b"): "a URI-parsing case",
    ("tests/integration/test_register_client.py", "wrong"): "a refused secret (401 case)",
    ("tests/foundation/test_connections.py", "s/e:c@"): "a URI-encoding case",
    ("tests/foundation/test_connections.py", "s%2Fe%3Ac%40"): "the same, encoded",
    ("tests/foundation/test_connections.py", "p"): "a URI-parsing case",
    ("tests/foundation/test_connections.py", "b"): "a URI-parsing case",
    ("tests/foundation/test_database.py", "secret"): "a masking case",
    ("tests/integration/test_pipeline.py", "secret"): "a server that does not listen (port 9)",
    ("tests/integration/test_dashboard.py", "s3cret"): "a server that does not listen (port 1)",
    ("tests/dag/test_reconcile_dag.py", "pw"): "a server that does not listen (port 9)",
    ("tests/integration/test_incident_store.py", "pw"): "a server that does not listen (port 9)",
    ("tests/integration/test_send_back.py", "s%3Acr%40t"):
        "the SMTP connection URI as Airflow writes it (a parsing case; no server)",
    ("tests/unit/test_leakscan.py", "s3cr3t-planted-4711"): "planted for the scanner's test",
    ("tests/integration/test_desk_page.py", "guess"): "a forged form token (the CSRF refusal)",
}  # fmt: skip


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_no_credential_in_the_repository_beyond_the_listed_fixtures():
    found = []
    for path in tracked_files():
        try:
            text = (REPO / path).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue  # binary (screenshots) or deleted in the worktree
        found += credential_findings(path, text)
    unexpected = [f for f in found if (f.path, f.value) not in ALLOWED]
    assert unexpected == [], "\n".join(f"{f.path}:{f.line}: {f.kind}" for f in unexpected)
    # The list stays true: an entry nobody needs any more goes.
    stale = set(ALLOWED) - {(f.path, f.value) for f in found}
    assert stale == set(), stale


def test_the_scan_finds_planted_credentials():
    password = "hunter2-" + "x9"
    python = (
        f"DB = 'postgresql://hotich:{password}@db.example/civil'\n"
        f"API_TOKEN = '{password}'\n"
        f"client = Client(client_secret='{password}')\n"
        f"CONF = {{'password': '{password}'}}\n"
        f"KEY = '-----BEGIN RSA ' 'PRIVATE KEY-----'\n"
        "OK = {'password': '<password>', 'token_type': 'Bearer', 'secret': None}\n"
    )
    kinds = sorted(f.kind for f in credential_findings("leak.py", python))
    assert kinds == ["literal for API_TOKEN", "literal for client_secret", "literal for password",
                     "password in a URI", "private key"]  # fmt: skip
    yaml = (
        f"env:\n  HOTICH_PIPELINE_PASSWORD: {password}\n"
        "  POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:-weak}\n"
        "  AIRFLOW__API_AUTH__JWT_SECRET: ${HOTICH_JWT_SECRET:?set it}\n"
        f"  AIRFLOW_CONN_X: mysql://root:{password}@127.0.0.1/x\n"
    )
    assert sorted((f.kind, f.value) for f in credential_findings("compose.yaml", yaml)) == [
        ("default of POSTGRES_PASSWORD", "weak"),
        ("password in a URI", password),
        ("value of HOTICH_PIPELINE_PASSWORD", password),
    ]
    assert credential_findings("README.md", "`http://<client_id>:<secret>@host:port`") == []
