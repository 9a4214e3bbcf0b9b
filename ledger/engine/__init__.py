"""The application engine: runs a command on aggregates kept in memory, retries it when what
it read has moved, writes it by group commit through the recorder protocol, answers it."""
