"""An SP-API + LWA emulator on loopback, shaped like Amazon's, for local mode, tests and benchmarks."""

from sellerstream_local.emulator.http import ApiError, EmulatorRequest, Reply, Route
from sellerstream_local.emulator.server import Faults, RecordedRequest, SpApiEmulator

__all__ = ["ApiError", "EmulatorRequest", "Faults", "RecordedRequest", "Reply", "Route", "SpApiEmulator"]
