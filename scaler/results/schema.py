"""The results/ files by name and column: what every writer writes and every reader expects.

One owner for each file name and table layout, so that ``scaler scale`` (the writer) and the
dashboard (the reader) cannot drift apart. Plain data (and each table's CSV writer), no imports from the rest of scaler.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: The run record's version (``scaler.results.record``): bumped when its fields change; readers read
#: older versions and warn about newer ones. 2 added mean, std and class_names.
SCHEMA_VERSION = 2


@dataclass(frozen=True)
class Table:
    """One CSV table: its file name, the columns written in order, those a reader needs to draw
    anything, and those it parses as numbers."""

    file: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    numeric: tuple[str, ...]

    def to_csv(self, rows: Iterable[Mapping]) -> str:
        """``rows`` as this table's CSV text: its columns in order, a missing or None value empty."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(["" if r.get(c) is None else r[c] for c in self.columns] for r in rows)
        return buf.getvalue()


# the folders of results/ (``scaler.results.results_root``)
RUNS = "runs"
SEARCH = "search"
SCALE = "scale"
BENCH_DIR = "bench"
#: The checkpoints of trainings under way (``scaler.training.checkpoint``), one file per training key;
#: a training's file goes when its run is kept.
CHECKPOINTS = "checkpoints"
#: The long benchmarks' folder (``benchmarks/cells.py``): their kept trainings are runs under benchmarks/cells/runs/.
BENCHMARKS = "benchmarks"
#: The default Optuna storage, a SQLite file.
STORAGE = "studies.db"

# runs/<run-id>/
RUN_RECORD = "run.json"
RUN_SPEC = "model.arch"
RUN_WEIGHTS = "weights.pt"
#: What the dashboard's Runs page needs of a run record to show it.
RUN_REQUIRED = ("name", "params", "macs")

# search/<study>/
SEARCH_BEST = "best.arch"
SEARCH_SUMMARY = "summary.json"
SEARCH_TRIALS = "trials.csv"

# scale/<base>/
#: The single-dimension strategies, compound scaling and the fast compound scaling dWr (Dollar, Singh and
#: Girshick 2021, ``scaler.scaling.compare.DWR_EXPONENTS``), as the compare table's ``strategy`` column names them.
STRATEGIES = ("depth", "width", "resolution", "compound", "dwr")
#: ``upsampled`` (grid, ladder, compare and bench tables): the model trained above the data's native
#: resolution (True/False; empty for a ladder rung not trained); files written before it lack the column.
GRID = Table("grid.csv", columns=("alpha", "beta", "gamma", "val_acc", "macs", "params", "resolution", "upsampled"),
             required=("alpha", "beta", "gamma", "val_acc"),
             numeric=("alpha", "beta", "gamma", "val_acc", "macs", "params", "resolution"))
LADDER = Table("ladder.csv", columns=("label", "name", "phi", "width", "depth", "resolution", "params", "macs",
                                      "mac_ratio", "fidelity_resolution", "upsampled"),
               required=("label", "name", "params", "macs"),
               numeric=("phi", "width", "depth", "resolution", "params", "macs", "mac_ratio", "fidelity_resolution"))
#: One row per (strategy, ratio) cell: ``macs`` counts the model as trained (the stride rule: what the
#: ratios match), ``trained_macs`` what its run recorded; ``val_acc`` is the mean over ``seeds`` finished
#: seeds, ``val_std`` their spread, and ``vs_compound`` [``vs_low``, ``vs_high``] the cell minus compound
#: at the same ratio paired by seed with its 95% interval and ``verdict``; ``acts`` counts the activations
#: (output elements of the conv and linear layers) of the model as trained. Files written before seeds
#: have only the first four columns, those before activations no ``acts``; readers need only ``required``.
COMPARE = Table("compare.csv", columns=("strategy", "mac_ratio", "macs", "val_acc", "val_std", "seeds",
                                        "vs_compound", "vs_low", "vs_high", "verdict", "trained_macs", "acts",
                                        "resolution_px", "upsampled"),
                required=("strategy", "macs", "val_acc"),
                numeric=("mac_ratio", "macs", "val_acc", "val_std", "seeds", "vs_compound", "vs_low", "vs_high",
                         "trained_macs", "acts", "resolution_px"))
COEFFICIENTS = "coefficients.json"
FITS = "fits.json"
COMPARE_DETAIL = "compare.json"
SCALE_SUMMARY = "summary.json"
SCALE_MODELS = "models"

# bench/<name>/
BENCH = Table("table.csv", columns=("label", "series", "phi", "seeds", "val_acc", "val_std", "test_acc", "test_std",
                                    "params", "macs", "resolution", "latency_ms", "diverged", "pareto",
                                    "is_reference", "vs_reference", "vs_low", "vs_high", "verdict", "mce", "mfr",
                                    "upsampled"),
              required=("label", "series", "val_acc", "macs"),
              numeric=("phi", "seeds", "val_acc", "val_std", "test_acc", "test_std", "params", "macs", "resolution",
                       "latency_ms", "vs_reference", "vs_low", "vs_high", "mce", "mfr"))
#: The folder under benchmarks/ where the long benchmarks keep their trainings (as runs).
BENCHMARK_CELLS = "cells"
BENCH_SETTINGS = "settings.json"
BENCH_SUMMARY = "summary.json"

# robustness/<name>/ (``scaler robustness``): the summary of the last comparison, and each evaluated
# run's numbers under cache/<key>.json (run id, seed, corruptions, severities, images, frames)
ROBUSTNESS = "robustness"
ROBUSTNESS_SUMMARY = "summary.json"
ROBUSTNESS_CACHE = "cache"

# student/<name>/ (``scaler student``): one row per iteration and role (teacher, student, supervised,
# noiseless), accuracies over seeds, and the student against that row paired by seed (test accuracy,
# its 95% interval and verdict; empty on the student's own row); pseudo_acc and kept on the student's
# row: its pseudo-labels' accuracy on the pool and how many images it learnt them from
STUDENT = "student"
STUDENT_TABLE = Table("table.csv", columns=("iteration", "role", "label", "phi", "seeds", "val_acc", "val_std",
                                            "test_acc", "test_std", "params", "macs", "resolution", "pseudo_acc",
                                            "kept", "student_minus", "diff_low", "diff_high", "verdict"),
                      required=("iteration", "role", "label", "test_acc"),
                      numeric=("iteration", "phi", "seeds", "val_acc", "val_std", "test_acc", "test_std", "params",
                               "macs", "resolution", "pseudo_acc", "kept", "student_minus", "diff_low", "diff_high"))
STUDENT_SUMMARY = "summary.json"
