"""What well-known public images do when they run: the ports they serve, what they need, what
they print.

Read by `programs` (whether a container's main process runs, crashes or is killed), `probes`
(what a probe reaches), `network` (what a server answers), `shell` (which programs exist) and
`logs`. An image not listed is a generic application: it runs until
stopped, serves HTTP on the ports it declares (any port when it declares none) and answers
every path with 200. A library image whose name is a near miss of a listed one (`ngnix`,
`postgresql`) does not exist on Docker Hub, so it never pulls.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

_NGINX_START = (
    "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform "
    "configuration",
    "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/",
    "/docker-entrypoint.sh: Configuration complete; ready for start up",
    "start worker processes",
)
_NGINX_PATHS = ("/", "/index.html", "/50x.html")
NGINX_PAGE = """<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, nginx is successfully installed and working.
Further configuration is required for the web server to become fully online.</p>
<p><em>Thank you for using nginx.</em></p>
</body>
</html>
"""
_DEBIAN_LACKS = ("wget", "nslookup")
"""Debian-based official images ship curl and getent but neither wget nor nslookup."""


@dataclass(frozen=True)
class Profile:
    """One image family's behaviour."""

    name: str
    http_ports: tuple[int, ...] = ()
    """Ports answering HTTP (empty: the declared container ports, or any)."""
    tcp_ports: tuple[int, ...] = ()
    """Ports accepting connections without HTTP (databases)."""
    paths: tuple[str, ...] | None = None
    """HTTP paths answered 200, others 404 (None: every path)."""
    memory_mi: int = 16
    """What the process needs once running, in MiB (OOMKilled under a lower limit)."""
    startup: tuple[str, ...] = ()
    """Lines the process prints when it starts."""
    required_env: tuple[str, ...] = ()
    """Variables of which at least one must be set, else it prints `missing_env` and exits 1."""
    missing_env: tuple[str, ...] = ()
    docroot: str = ""
    """Where a web server reads its pages (a ConfigMap mounted there is served)."""
    page: str = ""
    """The body of `/` when nothing is mounted at the document root."""
    shell: bool = True
    """Whether the image has `/bin/sh` and the usual tools (distroless ones have none)."""
    lacks: tuple[str, ...] = ()
    """Programs of the shell vocabulary (`shell`) the image does not ship."""


PROFILES: tuple[Profile, ...] = (
    *(
        Profile(
            name,
            (port,),
            paths=_NGINX_PATHS,
            memory_mi=8,
            startup=_NGINX_START,
            docroot="/usr/share/nginx/html",
            page=NGINX_PAGE,
            lacks=_DEBIAN_LACKS,
        )
        for name, port in (("nginx", 80), ("nginxinc/nginx-unprivileged", 8080))
    ),
    Profile(
        "httpd",
        (80,),
        paths=("/", "/index.html"),
        memory_mi=10,
        startup=("Apache/2.4 (Unix) configured -- resuming normal operations",),
        docroot="/usr/local/apache2/htdocs",
        page="<html><body><h1>It works!</h1></body></html>\n",
        lacks=(*_DEBIAN_LACKS, "curl"),
    ),
    Profile(
        "hashicorp/http-echo",
        (5678,),
        memory_mi=4,
        startup=("Server is listening on :5678",),
        shell=False,
    ),
    Profile(
        "hello-app",
        (8080,),
        memory_mi=6,
        startup=("Server listening on port 8080",),
        shell=False,
    ),
    Profile(
        "redis",
        tcp_ports=(6379,),
        memory_mi=8,
        startup=("Ready to accept connections tcp",),
        lacks=(*_DEBIAN_LACKS, "curl"),
    ),
    Profile(
        "postgres",
        tcp_ports=(5432,),
        memory_mi=40,
        startup=("database system is ready to accept connections",),
        required_env=("POSTGRES_PASSWORD", "POSTGRES_HOST_AUTH_METHOD"),
        missing_env=(
            "Error: Database is uninitialized and superuser password is not specified.",
            "       You must specify POSTGRES_PASSWORD to a non-empty value for the",
            '       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".',
        ),
    ),
    Profile(
        "mysql",
        tcp_ports=(3306, 33060),
        memory_mi=360,
        startup=("/usr/sbin/mysqld: ready for connections.",),
        required_env=(
            "MYSQL_ROOT_PASSWORD",
            "MYSQL_ALLOW_EMPTY_PASSWORD",
            "MYSQL_RANDOM_ROOT_PASSWORD",
        ),
        missing_env=(
            "[ERROR] [Entrypoint]: Database is uninitialized and password option is not specified",
            "    You need to specify one of the following as an environment variable:",
            "    - MYSQL_ROOT_PASSWORD",
            "    - MYSQL_ALLOW_EMPTY_PASSWORD",
            "    - MYSQL_RANDOM_ROOT_PASSWORD",
        ),
    ),
    # Cluster add-ons whose charts probe a port they do not declare as a container port.
    Profile(
        "kube-state-metrics/kube-state-metrics",
        (8080, 8081),
        paths=("/", "/metrics", "/livez", "/readyz", "/healthz"),
        memory_mi=30,
        startup=("Starting kube-state-metrics", "Started metrics server"),
        shell=False,
    ),
    Profile(
        "ingress-nginx/controller",
        (80, 443, 8443, 10254),
        memory_mi=90,
        startup=("NGINX Ingress controller", "Starting NGINX Ingress controller"),
    ),
    Profile("mongo", tcp_ports=(27017,), memory_mi=90),
    Profile("memcached", tcp_ports=(11211,), memory_mi=4),
    Profile("rabbitmq", tcp_ports=(5672, 15672), memory_mi=130),
    Profile("registry.k8s.io/pause", memory_mi=1, shell=False),
    Profile("pause", memory_mi=1, shell=False),
    Profile("polinux/stress", memory_mi=4),
    Profile("busybox", memory_mi=1, lacks=("curl", "getent")),
    Profile("alpine", memory_mi=1, lacks=("curl",)),
    Profile("curlimages/curl", memory_mi=2),
    *(Profile(name, memory_mi=1, lacks=_DEBIAN_LACKS) for name in ("ubuntu", "debian")),
    Profile("python", memory_mi=10),
    Profile("node", memory_mi=30),
)
GENERIC = Profile("app")
_LIBRARY = [p.name for p in PROFILES if "/" not in p.name]
_HUB = ("docker.io", "index.docker.io")


def repository(image: str) -> str:
    """`docker.io/library/nginx:1.27@sha256:...` -> `nginx`; keeps the path of other hosts."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    if parts[:1] == ["library"]:
        parts = parts[1:]
    return "/".join(parts)


def not_found_page(profile: Profile) -> str:
    """The body a known server sends with a 404."""
    if profile.docroot.endswith("nginx/html"):
        return (
            "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
            "<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n"
        )
    return "404 page not found\n"


def profile(image: str) -> Profile:
    """The profile of an image (the generic application when it is not a known one)."""
    repo = repository(image)
    for candidate in PROFILES:
        if repo == candidate.name or repo.endswith("/" + candidate.name):
            return candidate
    return GENERIC


def misspelt(image: str) -> bool:
    """Whether a Docker Hub library image name is a near miss of a known one (`ngnix`)."""
    repo = repository(image)
    host = image.split("/", 1)[0] if "/" in image else ""
    if "/" in repo or repo in _LIBRARY or ("." in host and host not in _HUB):
        return False
    return bool(difflib.get_close_matches(repo, _LIBRARY, n=1, cutoff=0.8))
