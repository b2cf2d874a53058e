# The rag-app image for both deployed options (ECS task, EKS pod). No local model weights:
# the deployed stacks embed and answer with Bedrock (RAG_EMBEDDER=bedrock). Build with
#   docker build -t rag-app:0.1.0 .
# Probes come from ECS/Kubernetes (/health/live, /health/ready), so there is no HEALTHCHECK.

FROM python:3.11-slim-bookworm AS build
ENV UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
COPY rag_app ./rag_app
# The locked runtime dependencies only: no dev/infra groups, no 'local' extra.
RUN uv sync --frozen --no-default-groups --no-editable --compile-bytecode

FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 rag && useradd --system --uid 10001 --gid rag --no-create-home rag
COPY --from=build /src/.venv /opt/rag
ENV PATH=/opt/rag/bin:$PATH PYTHONUNBUFFERED=1 RAG_DATA_DIR=/tmp/rag
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["rag-app", "serve"]
