"""Audio through FluidSynth (skipped where it is not installed; .ci/run installs it)."""

import wave

import numpy as np
import pytest

from pianorbm.common.settings import SettingsError
from pianorbm.model.config import SampleConfig
from pianorbm.rolls.audio import (AudioUnavailable, SoundFontError, find_synthesiser, given_soundfont, render,
                                  soundfont_problem)
from pianorbm.rolls.pianoroll import roll_to_midi


def _synthesiser():
    try:
        return find_synthesiser()
    except AudioUnavailable as err:
        pytest.skip(str(err))


def test_one_note_renders_with_energy_at_its_fundamental(tmp_path):
    synthesiser = _synthesiser()
    roll = np.zeros((8, 88), bool)
    roll[:, 69 - 21] = True  # A4, 440 Hz, two seconds at 120 qpm
    roll_to_midi(roll, steps_per_quarter=2).save(tmp_path / "a4.mid")
    render(synthesiser, tmp_path / "a4.mid", tmp_path / "a4.wav")
    with wave.open(str(tmp_path / "a4.wav")) as audio:
        rate, channels = audio.getframerate(), audio.getnchannels()
        samples = np.frombuffer(audio.readframes(audio.getnframes()), np.int16).reshape(-1, channels).mean(1)
    assert len(samples) > rate  # at least a second of sound
    spectrum = np.abs(np.fft.rfft(samples[: rate]))
    frequencies = np.fft.rfftfreq(rate, 1 / rate)
    audible = (frequencies > 50) & (frequencies < 5000)
    peak = frequencies[audible][np.argmax(spectrum[audible])]
    assert abs(peak - 440) < 5 or abs(peak - 880) < 10, peak  # the fundamental (or its octave) dominates
    near = spectrum[(frequencies > 430) & (frequencies < 450)].max()
    assert near > 20 * np.median(spectrum[audible])


def test_a_soundfont_asked_for_but_unusable_is_an_error_not_replaced(tmp_path, monkeypatch):
    """Whether or not FluidSynth is here: a wrong SoundFont is never silently swapped for another."""
    picture = tmp_path / "report.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    for given, problem in ((str(tmp_path / "none.sf2"), "no such file"), (str(picture), "not a SoundFont")):
        with pytest.raises(SoundFontError, match=f"--soundfont\\): {problem}") as caught:
            find_synthesiser(given)
        assert "\n" not in str(caught.value)
        monkeypatch.setenv("PIANORBM_SOUNDFONT", given)
        with pytest.raises(SoundFontError, match=r"\$PIANORBM_SOUNDFONT\): " + problem):
            find_synthesiser()
        monkeypatch.delenv("PIANORBM_SOUNDFONT")
    fake = tmp_path / "tiny.sf2"
    fake.write_bytes(b"RIFF" + (4).to_bytes(4, "little") + b"sfbk")
    assert soundfont_problem(fake) is None and given_soundfont(str(fake)) == fake
    with pytest.raises(SettingsError, match="soundfont"):
        SampleConfig(soundfont=str(picture))


def test_without_a_synthesiser_or_soundfont_the_reason_is_one_line(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(AudioUnavailable, match="no audio: FluidSynth is not installed") as caught:
        find_synthesiser()
    assert "\n" not in str(caught.value)
