"""The HTTP API (v1): FastAPI routes over the ledger service and the read models."""
