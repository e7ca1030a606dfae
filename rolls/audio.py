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


class SoundFontError(ValueError):
    """A SoundFont that was asked for (``--soundfont``, ``$PIANORBM_SOUNDFONT``) cannot be used."""


def soundfont_problem(path) -> str | None:
    """Why ``path`` is not a SoundFont file (None when it is one: RIFF, form type sfbk)."""
    path = Path(path).expanduser()
    if not path.is_file():
        return "no such file"
    with path.open("rb") as handle:
        head = handle.read(12)
    if head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        return "not a SoundFont (an .sf2 or .sf3 file)"
    return None


def given_soundfont(soundfont: str | None = None) -> Path | None:
    """The SoundFont asked for: ``soundfont``, else ``$PIANORBM_SOUNDFONT``, else None; one that cannot be
    used raises SoundFontError rather than another being used in its place."""
    given, origin = (soundfont, "--soundfont") if soundfont else (os.environ.get("PIANORBM_SOUNDFONT"),
                                                                  "$PIANORBM_SOUNDFONT")
    if not given:
        return None
    problem = soundfont_problem(given)
    if problem:
        raise SoundFontError(f"the SoundFont {given} ({origin}): {problem}; give a General MIDI .sf2 file, or "
                             "--audio none")
    return Path(given).expanduser()


@dataclass(frozen=True)
class Synthesiser:
    program: str
    soundfont: Path


def find_synthesiser(soundfont: str | None = None) -> Synthesiser:
    """FluidSynth and the SoundFont asked for (see given_soundfont), else the system's; AudioUnavailable
    where there is none."""
    given = given_soundfont(soundfont)
    program = shutil.which("fluidsynth")
    if program is None:
        raise AudioUnavailable("no audio: FluidSynth is not installed (Debian/Ubuntu: apt install fluidsynth "
                               "fluid-soundfont-gm; macOS: brew install fluid-synth); the MIDI files are written")
    if given is not None:
        return Synthesiser(program, given)
    for candidate in SOUNDFONT_PLACES:
        if Path(candidate).is_file():
            return Synthesiser(program, Path(candidate))
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
