"""The records view: service records, rankings, awards in notice, organisation reports."""
