"""The wheel carries schemas/ and scenarios/, so an installed emulator finds them (not only a checkout)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from emulator import __version__

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_the_schemas(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("responses_emulator-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for schema in (ROOT / "schemas").glob("*.json"):
        assert f"emulator/_data/schemas/{schema.name}" in names
    assert any(n.startswith("emulator/_data/scenarios/") for n in names)
    assert "emulator/app.py" in names
    assert {"emulator/pytest_plugin.py", "emulator/testing/handle.py", "emulator/testing/script.py"} <= names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "responses-emulator = emulator.cli:main" in text
    assert "responses_emulator = emulator.pytest_plugin" in text
    # One version (emulator/__init__.py's), the license, and the typing marker
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert f"\nVersion: {__version__}\n" in metadata
    assert "\nLicense-Expression: MIT\n" in metadata
    assert any(n.endswith("licenses/LICENSE") for n in names)
    assert "emulator/py.typed" in names
