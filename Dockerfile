FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY streams ./streams
RUN pip install --no-cache-dir .
ENV STREAMS_WEB_HOST=0.0.0.0 \
    STREAMS_DATA_DIR=/var/lib/streams
EXPOSE 6066
ENTRYPOINT ["streams"]
CMD ["worker", "-l", "info"]
