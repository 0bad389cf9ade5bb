"""The front of the topology: an nginx configuration (Debian's nginx), one origin for all.

| path | to |
|---|---|
| `/realtime/` | the websocket process(es) (daphne), upgraded, read timeout 1 h |
| `/static/` | files from `collectstatic`, served by nginx itself |
| `/metrics` | 404 (served on the 127.0.0.1 metrics listener instead, unless `ECHELON_METRICS_PUBLIC`) |
| everything else | the HTTP workers (pages, REST, admin, /healthz, /readyz), keep-alive upstream |

nginx runs in the foreground (`daemon off`), as one worker process per core, with its pid, temp
files and config in the run directory. SIGQUIT is its graceful stop: it closes its listeners,
lets requests in progress finish (and proxied websockets up to `worker_shutdown_timeout`).
"""

from __future__ import annotations

from pathlib import Path

TEMPLATE = """\
# Written by echelon.serving.topology for this run; edits are lost at the next start.
worker_processes auto;
worker_rlimit_nofile {nofile};
pid {run}/nginx.pid;
error_log stderr warn;
worker_shutdown_timeout 15s;
{user_line}
events {{
    worker_connections {worker_connections};
}}

http {{
    include {mime_types};
    default_type application/octet-stream;
    access_log {access_log};
    client_body_temp_path {run}/tmp/body;
    proxy_temp_path {run}/tmp/proxy;
    fastcgi_temp_path {run}/tmp/fastcgi;
    uwsgi_temp_path {run}/tmp/uwsgi;
    scgi_temp_path {run}/tmp/scgi;
    sendfile on;
    tcp_nodelay on;
    server_tokens off;
    keepalive_timeout 65s;
    keepalive_requests 10000;
    client_max_body_size {max_body};
    client_body_buffer_size 1m;  # most API bodies stay in memory

    upstream echelon_http {{
{http_servers}
        keepalive 64;
    }}
    upstream echelon_websockets {{
        least_conn;
{ws_servers}
    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}

    server {{
        listen {listen};
        location /realtime/ {{
            proxy_pass http://echelon_websockets;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
            proxy_buffering off;
        }}
        location /static/ {{
            alias {static_root}/;
            expires 1h;
            access_log off;
        }}
{metrics_block}
        location / {{
            proxy_pass http://echelon_http;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_next_upstream off;
        }}
    }}
{metrics_server}}}
"""

METRICS_SERVER = """
    server {{
        listen 127.0.0.1:{port};
        location = /metrics {{
            proxy_pass http://echelon_http;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host 127.0.0.1;
        }}
        location / {{
            return 404;
        }}
    }}
"""


def config(*, run: Path, listen: str, http_ports: list[int], ws_ports: list[int], static_root: Path,
           metrics_port: int, metrics_public: bool, as_root: bool, access_log: str = "off",
           max_body: str = "32m") -> str:
    import resource

    # every proxied websocket is two connections of one worker: as many as the process may open
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nofile = 65536 if nofile == resource.RLIM_INFINITY else min(nofile, 65536)
    worker_connections = max(1024, nofile - 64)
    servers = lambda ports: "\n".join(f"        server 127.0.0.1:{p};" for p in ports)  # noqa: E731
    return TEMPLATE.format(
        run=run, listen=listen, static_root=static_root, max_body=max_body, access_log=access_log,
        worker_connections=worker_connections, nofile=nofile,
        mime_types="/etc/nginx/mime.types",
        user_line="user nobody nogroup;" if as_root else "",
        http_servers=servers(http_ports), ws_servers=servers(ws_ports),
        metrics_block="" if metrics_public else "        location = /metrics {\n            return 404;\n        }",
        metrics_server=METRICS_SERVER.format(port=metrics_port) if metrics_port else "",
    )
