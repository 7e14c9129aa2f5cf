"""Testing with the emulator: scripted in-process or served emulators and their request journal.

The pytest plugin (`emulator.pytest_plugin`) gives them as fixtures; outside pytest, build one
yourself: `InProcessEmulator(create_app(Config(frozen_time=...)))`.
"""

from emulator.testing.handle import Emulator, InProcessEmulator, ServedEmulator
from emulator.testing.server import EmulatorServer

__all__ = ["Emulator", "EmulatorServer", "InProcessEmulator", "ServedEmulator"]
