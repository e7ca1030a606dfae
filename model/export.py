"""``pianorbm export``: a run folder's model as one ``.keras`` file.

The file holds the model's config, its weights (best by default) and the data description
(grid, pitch range, the records it was trained on), so ``pianorbm sample model.keras OUT`` and
``keras.saving.load_model`` (after ``import model.rnn_rbm``) read it without the run folder.
"""

from __future__ import annotations

from pathlib import Path

from pianorbm.common.files import atomic_path
from pianorbm.model.run_folder import check_model_file_name, load_run_model, read_data, records_of


def export_run(run_dir: Path, path: Path, weights: str = "best", with_records: bool = True) -> Path:
    """Writes the run's model to ``path`` (atomically); returns the path. ``with_records`` False leaves
    out the records' path (a model that ships to other machines, which carries its data's statistics)."""
    from pianorbm.model.rnn_rbm import RnnRbm

    path = Path(path)
    check_model_file_name(path)
    trained = load_run_model(run_dir, weights)
    # the records' path, relative to the run folder there, is absolute in a file that leaves it
    data = {**read_data(run_dir), "records": str(records_of(run_dir).resolve()) if with_records else None}
    exported = RnnRbm.from_config({**trained.get_config(), "data_description": data})
    exported.set_weights(trained.get_weights())
    with atomic_path(path, keep_suffix=True) as temporary:
        exported.save(temporary)
    return path
