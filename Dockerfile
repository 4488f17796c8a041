# syntax=docker/dockerfile:1
# enode-scheduler container image (docs/operations.md, "Container"). Build from the repository root:
#   docker build -t enode-scheduler .
#   docker run --read-only --tmpfs /tmp -v enode-state:/var/lib/enode-scheduler enode-scheduler
# .ci/run proves this recipe without a Docker engine: it builds the same wheels from the same
# build context, installs them into a fresh venv and runs the CLI from there.

FROM python:3.12-slim-bookworm AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY . .
# The project's wheel plus a wheel for every dependency at the version the lock (constraints.txt)
# pins, so the final stage needs no index, and a requirements file pinning exactly those wheels
# ("name==version" from each file name).
RUN pip wheel --no-cache-dir --wheel-dir /wheels --constraint constraints.txt '.[postgres]' \
    && for wheel in /wheels/*.whl; do \
        file="${wheel##*/}"; rest="${file#*-}"; echo "${file%%-*}==${rest%%-*}"; \
    done > /wheels/requirements.txt

FROM python:3.12-slim-bookworm
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/enode-scheduler/bin:$PATH \
    STATE_DIRECTORY=/var/lib/enode-scheduler \
    ENODE_SCHEDULER__API__LISTEN=0.0.0.0:8080
# Wheels are bind-mounted, not copied, so they never become an image layer. pip compiles the
# bytecode here, which is why the root filesystem can be read-only at run time.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    python -m venv --without-pip /opt/enode-scheduler \
    && pip --python /opt/enode-scheduler/bin/python install --no-cache-dir --no-index \
        --find-links=/wheels --requirement /wheels/requirements.txt \
    && useradd --system --uid 10001 --user-group --no-create-home \
        --home-dir /var/lib/enode-scheduler --shell /usr/sbin/nologin enode-scheduler \
    && install -d -o 10001 -g 10001 -m 0700 /var/lib/enode-scheduler
# State (SQLite database, generated token key) is the only thing the daemon writes, besides /tmp.
VOLUME ["/var/lib/enode-scheduler"]
WORKDIR /var/lib/enode-scheduler
USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["enode-scheduler", "healthcheck"]
ENTRYPOINT ["enode-scheduler"]
CMD ["run"]
