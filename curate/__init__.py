"""Raw MIDI folder -> clean corpus + manifest.

Modules: midi_read (bytes -> events), song (events -> notes, programs, tempo map), instruments
(what piano means), facts and filters (manifest columns, quality rules), midi_write (the clean
file), file_curation (one file, in a worker), curation (the folder run, journal, dedup),
beam_curation (the same on Apache Beam), manifest (reading and writing it), music21_corpus (the bundled
corpus as a raw folder).
"""
