"""Notes <-> binary piano rolls of shape (T, 88), column 0 = MIDI 21 (A0), column 87 = MIDI 108 (C8).

The policy, decided on purpose:

- **Time grid.** Steps are beat-relative: ``steps_per_quarter`` steps per quarter note, counted in
  ticks (step = tick * steps_per_quarter / ticks_per_beat), so tempo changes never distort the grid
  and pieces with tempo or metre changes are kept. With ``dt`` set instead, steps are ``dt``
  seconds long through the tempo map (the Theano tutorial's 0.3 s).
- **Rounding.** Onsets and offsets round to the nearest step (halves up). A note shorter than a
  step still sounds for one step.
- **Overlaps and repeated notes.** Notes of one pitch that overlap are merged (a roll has one bit
  per pitch and step). A plain roll cannot tell a held note from a re-attack on the next step: both
  are consecutive active frames, and :func:`roll_to_midi` writes consecutive active frames as one
  held note. So MIDI -> roll -> MIDI -> roll is the identity on rolls. A roll ends with the last
  note's last step (trailing silence is not kept).
- **Sustain pedal** (controller 64, down at >= 64) is applied by default: a note released while
  its channel's pedal is down sounds until the pedal is released or its pitch is struck again. A
  press held longer than ``MAX_PEDAL_BEATS`` is a stuck controller, not a pianist's pedal (73 of
  POP909's songs 001-600 hold one for 64 to 430 beats, which turns a song into a wash of 30 keys):
  it is ignored and counted (``stuck_pedal_presses``).
- **Pitches outside 21-108** are dropped (``out_of_range="drop"``) or folded by octaves into the
  range (``"fold"``); either way they are counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pianorbm.curate.song import Notes, Song

LOWEST_PITCH, HIGHEST_PITCH = 21, 108
KEYS = HIGHEST_PITCH - LOWEST_PITCH + 1  # 88
MAX_PEDAL_BEATS = 64  # the longest press applied: real piano performances here hold at most about 50 beats


@dataclass(frozen=True)
class RollNotes:
    """Notes on the roll's grid: (N,) int64 start and end steps (end exclusive) and MIDI pitches."""

    start: np.ndarray
    end: np.ndarray
    pitch: np.ndarray

    @property
    def num_steps(self) -> int:
        return int(self.end.max()) if len(self.end) else 0


def apply_sustain(song: Song, notes: Notes) -> tuple[np.ndarray, int]:
    """Offsets (ticks) of ``notes`` lengthened by the sustain pedal of their track and channel, and
    the number of presses ignored for being held longer than ``MAX_PEDAL_BEATS``."""
    offset = notes.offset.copy()
    pedal = song.sustain
    if not len(pedal) or not len(notes):
        return offset, 0
    span = int(max(pedal[:, 1].max(), notes.offset.max(), notes.onset.max())) + 1
    pedal_group = pedal[:, 0] * 16 + pedal[:, 2]
    order = np.lexsort((pedal[:, 1], pedal_group))
    keys = (pedal_group * span + pedal[:, 1])[order]
    down = pedal[order, 3] >= 64
    group = notes.track.astype(np.int64) * 16 + notes.channel
    at = np.searchsorted(keys, group * span + notes.offset, side="right") - 1
    held = at >= 0
    held[held] = (keys[at[held]] // span == group[held]) & down[at[held]]
    # release: the first pedal-up event of the group after the note's offset
    up_keys = keys[~down]
    nxt = np.searchsorted(up_keys, group * span + notes.offset, side="right")
    release = np.full(len(notes), song.end_tick, dtype=np.int64)
    found = nxt < len(up_keys)
    found[found] = up_keys[nxt[found]] // span == group[found]
    release[found] = up_keys[nxt[found]] % span
    # a press starts at a down event whose group's event before it is not down
    first_of_group = np.r_[True, keys[1:] // span != keys[:-1] // span]
    press_keys = keys[down & (first_of_group | ~np.r_[False, down[:-1]])]
    press = (press_keys[np.searchsorted(press_keys, group * span + notes.offset, side="right") - 1] % span
             if len(press_keys) else release)  # no press: nothing is held
    stuck = held & (release - press > MAX_PEDAL_BEATS * song.ticks_per_beat)
    held &= ~stuck
    stuck_presses = len(np.unique(group[stuck] * span + press[stuck]))
    offset[held] = np.maximum(offset[held], release[held])
    # never past the next onset of the same pitch in the same track and channel
    pitch_key = group * 128 + notes.pitch
    order = np.lexsort((notes.onset, pitch_key))
    next_onset = np.full(len(notes), np.iinfo(np.int64).max)
    same = pitch_key[order][1:] == pitch_key[order][:-1]
    next_onset[order[:-1][same]] = notes.onset[order][1:][same]
    return np.where(held, np.minimum(offset, np.maximum(next_onset, notes.offset)), offset), stuck_presses


def notes_to_grid(song: Song, notes: Notes, *, steps_per_quarter: int | None = 4, dt: float | None = None,
                  sustain: bool = True, out_of_range: str = "drop") -> tuple[RollNotes, dict]:
    """Puts notes on the time grid (see module docstring). Returns the grid notes and counts of
    what was changed: ``dropped_out_of_range``, ``folded_out_of_range``, ``stuck_pedal_presses``."""
    offsets, stuck_presses = apply_sustain(song, notes) if sustain else (notes.offset, 0)
    if dt is not None:
        start_x = song.seconds_at(notes.onset) / dt
        end_x = song.seconds_at(offsets) / dt
    else:
        start_x = notes.onset * (steps_per_quarter / song.ticks_per_beat)
        end_x = offsets * (steps_per_quarter / song.ticks_per_beat)
    start = np.floor(start_x + 0.5).astype(np.int64)
    end = np.maximum(np.floor(end_x + 0.5).astype(np.int64), start + 1)
    pitch = notes.pitch.astype(np.int64)
    outside = (pitch < LOWEST_PITCH) | (pitch > HIGHEST_PITCH)
    counts = {"dropped_out_of_range": 0, "folded_out_of_range": 0, "stuck_pedal_presses": stuck_presses}
    if out_of_range == "fold":
        pitch = np.where(pitch < LOWEST_PITCH, pitch + 12 * -((pitch - LOWEST_PITCH) // 12), pitch)
        pitch = np.where(pitch > HIGHEST_PITCH, pitch - 12 * ((pitch - HIGHEST_PITCH + 11) // 12), pitch)
        counts["folded_out_of_range"] = int(outside.sum())
    elif out_of_range == "drop":
        start, end, pitch = start[~outside], end[~outside], pitch[~outside]
        counts["dropped_out_of_range"] = int(outside.sum())
    else:
        raise ValueError(f"out_of_range must be 'drop' or 'fold', not {out_of_range!r}")
    return RollNotes(start, end, pitch), counts


def active_cells(grid: RollNotes) -> np.ndarray:
    """Sorted unique flat indices ``step * 88 + key`` of the active cells: the sparse roll."""
    if not len(grid.start):
        return np.zeros(0, dtype=np.int64)
    lengths = grid.end - grid.start
    steps = np.repeat(grid.start - np.cumsum(np.concatenate([[0], lengths[:-1]])), lengths) + np.arange(lengths.sum())
    keys = np.repeat(grid.pitch - LOWEST_PITCH, lengths)
    return np.unique(steps * KEYS + keys)


def cells_to_roll(cells: np.ndarray, num_steps: int) -> np.ndarray:
    """Dense (num_steps, 88) bool roll from flat active-cell indices."""
    roll = np.zeros(num_steps * KEYS, dtype=bool)
    roll[cells] = True
    return roll.reshape(num_steps, KEYS)


def roll_to_cells(roll: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.asarray(roll, dtype=bool).reshape(-1))


def notes_to_roll(song: Song, notes: Notes, **grid_options) -> np.ndarray:
    """(T, 88) bool roll of ``notes`` (grid options as :func:`notes_to_grid`)."""
    grid, _ = notes_to_grid(song, notes, **grid_options)
    return cells_to_roll(active_cells(grid), grid.num_steps)


def roll_to_note_spans(roll: np.ndarray, reattack: bool = False) -> RollNotes:
    """Notes of a roll: each run of consecutive active frames of a key is one held note, or with
    ``reattack`` every active frame is a note of one step."""
    roll = np.asarray(roll, dtype=bool)
    if reattack:
        steps, keys = np.nonzero(roll)
        return RollNotes(steps.astype(np.int64), steps.astype(np.int64) + 1, keys.astype(np.int64) + LOWEST_PITCH)
    padded = np.zeros((roll.shape[0] + 2, KEYS), dtype=np.int8)
    padded[1:-1] = roll
    change = np.diff(padded, axis=0)
    keys, start = np.nonzero(change.T == 1)  # key-major, so each key's starts and ends pair up in order
    _, end = np.nonzero(change.T == -1)
    return RollNotes(start.astype(np.int64), end.astype(np.int64), keys.astype(np.int64) + LOWEST_PITCH)


def roll_to_midi(roll: np.ndarray, *, steps_per_quarter: int = 4, qpm: float = 120.0, velocity: int = 80,
                 ticks_per_beat: int = 480, reattack: bool = False, program: int = 0):
    """A one-track ``mido.MidiFile`` playing ``roll`` at ``qpm`` quarter notes per minute.

    Consecutive active frames become one held note (``reattack=False``) or one note per frame.
    """
    import mido

    if ticks_per_beat % steps_per_quarter:
        raise ValueError("ticks_per_beat must be a multiple of steps_per_quarter")
    spans = roll_to_note_spans(roll, reattack)
    ticks_per_step = ticks_per_beat // steps_per_quarter
    events = [(int(s) * ticks_per_step, 1, int(p)) for s, p in zip(spans.start, spans.pitch)]
    events += [(int(e) * ticks_per_step, 0, int(p)) for e, p in zip(spans.end, spans.pitch)]
    events.sort()
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(qpm), time=0),
                            mido.MetaMessage("track_name", name="Piano", time=0),
                            mido.Message("program_change", program=program, time=0)])
    last = 0
    for tick, is_on, pitch in events:
        kind = "note_on" if is_on else "note_off"
        track.append(mido.Message(kind, note=pitch, velocity=velocity if is_on else 0, time=tick - last))
        last = tick
    end = roll.shape[0] * ticks_per_step
    track.append(mido.MetaMessage("end_of_track", time=max(0, end - last)))
    midi = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    midi.tracks.append(track)
    return midi
