"""responses-emulator: a local, deterministic emulator of orq.ai's Responses API."""

__version__ = "0.1.0"
