"""Gunicorn settings of the HTTP workers (`gunicorn -c python:echelon.serving.gunicorn_conf`).

Sync workers, one request at a time each: Django's views are synchronous, so a worker process
per core-share uses every core (under ASGI one process runs sync views on one thread). The front
(nginx) buffers slow clients, which is what sync workers need. Counts and ports come from the
command line the topology builds; what is here holds for every deployment.
"""

worker_class = "sync"
graceful_timeout = 20  # SIGTERM: finish the requests in progress for up to this long
timeout = 60
keepalive = 5
accesslog = None  # the front logs requests
forwarded_allow_ips = "127.0.0.1"
control_socket_disable = True  # several topologies (tests) on one machine would share one path


def child_exit(server, worker) -> None:
    """A worker that exited leaves the live sums of the shared metrics (prometheus_client)."""
    from echelon.serving.metrics import child_exit as mark_dead

    mark_dead(worker.pid)
