"""Ingest service: watch the inbox, parse files, publish articles."""
