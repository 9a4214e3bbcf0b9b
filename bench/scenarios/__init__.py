"""One module per budget line of SPEC.md."""
