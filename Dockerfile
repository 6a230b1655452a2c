# The service image for several machines (docs/deploy.md): Postgres and a model server live elsewhere.
FROM python:3.11-slim
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir torch==2.13.0 -e '.[postgres,ray]' \
 && interviewer model prepare --embedder-only
ENV HF_HUB_OFFLINE=1 LITELLM_LOCAL_MODEL_COST_MAP=True OMP_NUM_THREADS=1 \
    INTERVIEWER_HOST=0.0.0.0 INTERVIEWER_DATA_DIR=/data
EXPOSE 8000
CMD ["interviewer", "serve"]
