"""A Plan's events as bytes on the wire: server-sent events (sse.py); JSON bodies (json.py)."""
