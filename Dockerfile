# The worker image: `streams worker` (docker-compose.yml runs it, and `streams topics create`).
FROM python:3.11-slim
# Log lines reach `docker logs` as they are written.
ENV PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY streams ./streams
RUN pip install --no-cache-dir . \
    && useradd --system --create-home --home-dir /home/streams streams \
    && mkdir -p /var/lib/streams \
    && chown streams /var/lib/streams
USER streams
# Listen on all interfaces inside the container; keep state in the volume compose mounts.
ENV STREAMS_WEB_HOST=0.0.0.0 \
    STREAMS_DATA_DIR=/var/lib/streams
EXPOSE 6066
ENTRYPOINT ["streams"]
CMD ["worker", "-l", "info"]
