# deploybot: `docker build -t deploybot .`, then see README "Running it in a container".
# The image runs `deploybot serve` on 0.0.0.0:8080, as an unprivileged user; the settings come
# from the environment (bot/settings.py) and the configuration file from DEPLOYBOT_CONFIG.

# The wheel of deploybot itself, built from the source alone (no tests, no dev tools).
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY semaphore_client ./semaphore_client
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /app

# The locked runtime dependencies first, so this layer is rebuilt only when requirements.txt
# changes. Its line "." (deploybot itself, for buildpacks) is left out: the wheel follows.
COPY requirements.txt /tmp/requirements.txt
RUN grep --invert-match --line-regexp '\.' /tmp/requirements.txt > /tmp/locked.txt \
    && pip install --no-cache-dir --requirement /tmp/locked.txt \
    && rm /tmp/requirements.txt /tmp/locked.txt

COPY --from=wheel /wheels /tmp/wheels
RUN pip install --no-cache-dir --no-deps /tmp/wheels/*.whl \
    && pip check \
    && rm -r /tmp/wheels \
    && useradd --system --no-log-init --uid 10001 --user-group --no-create-home deploybot
# Numeric, so a runtime (Kubernetes' runAsNonRoot) can tell it is not root.
USER 10001:10001

EXPOSE 8080
# /healthz answers 200 when Redis, the scheduler and the workers are fine, else 503 (an error
# here). There is no curl in the slim image: Python's urllib does the request.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
CMD ["deploybot", "serve", "--host", "0.0.0.0", "--port", "8080"]
