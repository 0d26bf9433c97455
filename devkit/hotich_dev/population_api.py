"""Run the population register simulator: ``python -m hotich_dev.population_api``.

Example::

    python -m hotich_dev.population_api --register data/register.parquet \\
        --port 8800 --client hotich:s3cret --quota 20

Clients may also come from the environment variable ``POPULATION_API_CLIENTS``
(``id:secret,id2:secret2``) so secrets stay out of the process list. The server binds
127.0.0.1 only; the ``/_admin`` endpoints (fault injection) are not authenticated.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from urllib.parse import unquote

log = logging.getLogger("hotich_dev.population_api")


def _parse_client(spec: str) -> tuple[str, str]:
    client_id, sep, secret = spec.partition(":")
    if not sep or not client_id or not secret:
        raise argparse.ArgumentTypeError("a client is ID:SECRET")
    return unquote(client_id), unquote(secret)


def build_parser() -> argparse.ArgumentParser:
    """The command line of the simulator."""
    p = argparse.ArgumentParser(prog="python -m hotich_dev.population_api", description=__doc__)
    p.add_argument("--register", required=True, help="the register, a Parquet file")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8800)
    p.add_argument(
        "--client",
        action="append",
        type=_parse_client,
        default=[],
        metavar="ID:SECRET",
        help="an OAuth2 client (repeatable)",
    )
    p.add_argument("--quota", type=float, default=None, help="requests/second per client")
    p.add_argument("--token-ttl", type=int, default=3600, help="token lifetime, seconds")
    p.add_argument("--seed", type=int, default=None, help="seed of injected faults")
    p.add_argument("--log-level", default="info")
    return p


def main(argv: list[str] | None = None) -> int:
    """Load the register, index it and serve until interrupted."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    clients = dict(args.client)
    for spec in filter(None, os.environ.get("POPULATION_API_CLIENTS", "").split(",")):
        clients.update([_parse_client(spec.strip())])
    if not clients:
        print("no client: give --client ID:SECRET or POPULATION_API_CLIENTS", file=sys.stderr)
        return 2

    import uvicorn

    from hotich_dev.simulator import create_app

    t0 = time.perf_counter()
    app = create_app(
        args.register, clients, quota_rps=args.quota, token_ttl_s=args.token_ttl, seed=args.seed
    )
    log.info(
        "register of %d persons ready in %.1f s; %d client(s); quota %s rps",
        app.state.simulator.index.size,
        time.perf_counter() - t0,
        len(clients),
        args.quota if args.quota is not None else "unlimited",
    )
    uvicorn.run(
        app, host=args.host, port=args.port, log_level=args.log_level.lower(), access_log=False
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
