"""Audio beside every MIDI file: rendered through FluidSynth with a General MIDI SoundFont.

The ``fluidsynth`` program (Debian: ``apt install fluidsynth fluid-soundfont-gm``; macOS: ``brew
install fluid-synth``) renders offline, faster than real time. The SoundFont is ``--soundfont``,
else ``$PIANORBM_SOUNDFONT``, else the first of the usual system locations. Where either is
missing, :func:`find_synthesiser` says what to install in one line and nothing is rendered: the
MIDI files are written all the same.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pianorbm.common.files import atomic_path

AUDIO_FORMATS = {"wav": "wav", "flac": "flac", "ogg": "oga"}  # file suffix -> fluidsynth's file type
SOUNDFONT_PLACES = ("/usr/share/sounds/sf2/default-GM.sf2", "/usr/share/sounds/sf2/FluidR3_GM.sf2",
                    "/usr/share/sounds/sf2/TimGM6mb.sf2", "/usr/share/soundfonts/default.sf2",
                    "/usr/share/soundfonts/FluidR3_GM.sf2", "/opt/homebrew/share/soundfonts/default.sf2",
                    "/usr/local/share/soundfonts/default.sf2")
SAMPLE_RATE = 44100
RENDER_TIMEOUT_S = 300


class AudioUnavailable(Exception):
    """No synthesiser or no SoundFont here; the message says what to install."""


@dataclass(frozen=True)
class Synthesiser:
    program: str
    soundfont: Path


def find_synthesiser(soundfont: str | None = None) -> Synthesiser:
    program = shutil.which("fluidsynth")
    if program is None:
        raise AudioUnavailable("no audio: FluidSynth is not installed (Debian/Ubuntu: apt install fluidsynth "
                               "fluid-soundfont-gm; macOS: brew install fluid-synth); the MIDI files are written")
    candidates = [soundfont] if soundfont else [os.environ.get("PIANORBM_SOUNDFONT"), *SOUNDFONT_PLACES]
    for candidate in candidates:
        if candidate and Path(candidate).expanduser().is_file():
            return Synthesiser(program, Path(candidate).expanduser())
    if soundfont:
        raise AudioUnavailable(f"no audio: the SoundFont {soundfont} is not a file; the MIDI files are written")
    raise AudioUnavailable("no audio: no General MIDI SoundFont found (Debian/Ubuntu: apt install fluid-soundfont-gm, "
                           "or give --soundfont FILE.sf2); the MIDI files are written")


def render(synthesiser: Synthesiser, midi: Path, out: Path) -> Path:
    """Renders ``midi`` to ``out`` (its suffix picks the format), atomically."""
    file_type = AUDIO_FORMATS[out.suffix.lstrip(".")]
    with atomic_path(out, keep_suffix=True) as temporary:
        subprocess.run([synthesiser.program, "-ni", "-q", "-F", str(temporary), "-T", file_type,
                        "-r", str(SAMPLE_RATE), "-g", "0.6", str(synthesiser.soundfont), str(midi)],
                       check=True, capture_output=True, timeout=RENDER_TIMEOUT_S)
        if temporary.stat().st_size == 0:
            raise subprocess.CalledProcessError(1, synthesiser.program, stderr=b"empty output")
    return out
