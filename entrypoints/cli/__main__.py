"""`python -m entrypoints.cli`: the `timebank` command."""

from entrypoints.cli import main

main()
