"""Ingestion: load, clean, segment, chunk and embed articles into a versioned index artifact."""
