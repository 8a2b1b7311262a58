"""Fill deploy/nginx.conf.template: the public port, the course servers, and the folder nginx
keeps its pid, logs and temporary files in (so it runs without touching /etc or /var).

    python deploy/render.py --listen 8080 --server 127.0.0.1:5100 --server 127.0.0.1:5101 \\
        --prefix /srv/course-nginx [--foreground] > /srv/course-nginx/nginx.conf
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

TEMPLATE = Path(__file__).with_name("nginx.conf.template")


def render(listen: str, servers: list[str], prefix: Path, foreground: bool = False) -> str:
    if not servers:
        raise ValueError("give at least one course server (--server HOST:PORT)")
    text = TEMPLATE.read_text()
    for name, value in {
        "listen": listen,
        "servers": "\n".join(f"        server {s};" for s in servers),
        "prefix": str(prefix),
        "daemon": "daemon off;" if foreground else "",
    }.items():
        text = text.replace("{{" + name + "}}", value)
    return text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--listen", default="8080", help="the public port (or address:port)")
    p.add_argument("--server", action="append", default=[], help="a course server, HOST:PORT")
    p.add_argument("--prefix", required=True, type=Path, help="nginx's own folder")
    p.add_argument("--foreground", action="store_true", help="nginx stays in the foreground")
    args = p.parse_args(argv)
    try:
        sys.stdout.write(render(args.listen, args.server, args.prefix.resolve(), args.foreground))
    except ValueError as error:
        print(f"render.py: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
