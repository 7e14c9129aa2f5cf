"""A request's headers, as the engine reads them: by lower-case name, decoded only if asked for."""

from __future__ import annotations

from collections.abc import Iterator, Mapping


class HeaderMap(Mapping[str, str]):
    """Text view of a request's raw header map; decodes on first use (most requests never ask)."""

    __slots__ = ("_decoded", "_raw")

    def __init__(self, raw: Mapping[bytes, bytes]) -> None:
        self._raw = raw
        self._decoded: dict[str, str] | None = None

    @property
    def _map(self) -> dict[str, str]:
        if self._decoded is None:
            self._decoded = {k.decode("latin-1"): v.decode("latin-1") for k, v in self._raw.items()}
        return self._decoded

    def __getitem__(self, name: str) -> str:
        return self._map[name]

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        """One header, looked up by its raw name: no decoding of the others, no KeyError raised
        and caught (the engine asks for headers most requests do not send)."""
        value = self._raw.get(name.encode("latin-1"))
        return default if value is None else value.decode("latin-1")

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)
