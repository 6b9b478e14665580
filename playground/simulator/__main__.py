"""Serve the simulator on its own: `python -m playground.simulator --port 8100`."""

from __future__ import annotations

import argparse

import uvicorn

from playground.simulator import create_app


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve the simulator with uvicorn until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m playground.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--tps", type=float, default=40.0, help="tokens per second")
    parser.add_argument("--first-token-delay", type=float, default=0.15, help="seconds")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    app = create_app(
        tokens_per_second=args.tps, first_token_delay=args.first_token_delay, seed=args.seed
    )
    print(f"Provider simulator on http://{args.host}:{args.port}/ (Ctrl+C to stop)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", lifespan="on")


if __name__ == "__main__":
    main()
