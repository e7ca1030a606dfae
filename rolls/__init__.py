"""Clean corpus -> piano rolls and records, and what needs only rolls.

Modules: pianoroll (notes -> (T, 88) rolls), keys (transposition), pieces (one clean file -> rolls),
records and records_config (sharded TFRecords + dataset.json), build_records (the folder run, local
or on Beam via beam_records), standard_datasets (the benchmark pickles) and benchmark_download
(fetching one when asked), dataset (the tf.data reader), piece_batches (whole pieces in length
buckets); audio, roll_figure and music_stats (the music outputs: FluidSynth audio, piano-roll
pictures, statistics).
"""
