"""timebank: the runtime. Composes the ledger, its projections and the sweeper from settings
(`runtime`), with the store's adapters (event store, transcoder, tokens), its health and the
metrics registry. The entry points (`entrypoints`) and the HTTP API (`api`) build on it."""
