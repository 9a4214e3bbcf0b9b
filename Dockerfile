FROM python:3.11-slim
WORKDIR /app
# The certificate PDFs embed a Chinese TrueType font.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY ledger ledger
COPY projections projections
COPY api api
COPY migrations migrations
COPY timebank timebank
COPY entrypoints entrypoints
COPY bench bench
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["timebank", "serve", "--host", "0.0.0.0", "--port", "8000"]
