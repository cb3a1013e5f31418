# One image for both services: `newsdrop ingest` and `newsdrop store`.
# Stage 1 builds a venv from the lock file; stage 2 carries only that venv.
FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/opt/venv
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY services ./services
COPY shared ./shared
RUN uv sync --frozen --no-dev --no-editable

FROM python:3.11-slim
RUN groupadd --system --gid 10001 newsdrop \
 && useradd --system --uid 10001 --gid newsdrop --home-dir /app --create-home newsdrop
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    NEWSDROP_LOG_FORMAT=json \
    NEWSDROP_HTTP_HOST=0.0.0.0 \
    NEWSDROP_HEALTH_PORT=8081
WORKDIR /app
USER newsdrop
# Each service sets NEWSDROP_HEALTH_PORT to its own port (ingest 8081, store 8082).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os,sys,urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s/health/ready' % os.environ.get('NEWSDROP_HEALTH_PORT','8081'), timeout=2).status == 200 else 1)"]
ENTRYPOINT ["newsdrop"]
CMD ["--help"]
