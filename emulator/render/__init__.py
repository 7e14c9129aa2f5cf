"""Plan -> bytes on the wire. JSON now; server-sent events and WebSocket frames read the same Plan."""
