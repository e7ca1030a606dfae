"""The exceptions curation raises, each carrying a machine-readable reason code."""

from __future__ import annotations


class CurationError(Exception):
    """Base class; ``reason`` is the code that goes in the manifest."""

    reason = "error"

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class MidiReadError(CurationError):
    """A file that is not a readable Standard MIDI File (bad header, bad event...)."""

    reason = "malformed"


class MidiWriteError(CurationError):
    """Material that cannot be encoded as a Standard MIDI File."""

    reason = "unwritable"
