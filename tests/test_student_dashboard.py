"""The dashboard's Self-training page: ``scaler student``'s table loaded, drawn and shown."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_dashboard import charts, open_app, titles

from scaler.dashboard import data
from scaler.dashboard import figures as F
from scaler.results import schema


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """results/student/default/table.csv as ``scaler student --iterations 2 --ablate noise`` writes it."""
    rows = []
    for it, (teacher, student) in enumerate((("b0", "b0-phi1"), ("b0-phi1", "b0-phi2")), 1):
        base = 0.80 + 0.02 * it
        rows += [
            {"iteration": it, "role": "teacher", "label": teacher, "seeds": 3, "test_acc": base - 0.02, "test_std": 0.01,
             "macs": 1e6 * it, "student_minus": 0.02, "diff_low": 0.01, "diff_high": 0.03, "verdict": "better"},
            {"iteration": it, "role": "student", "label": student, "seeds": 3, "test_acc": base, "test_std": 0.004,
             "macs": 2e6 * it, "pseudo_acc": 0.7 + 0.05 * it, "kept": 900},
            {"iteration": it, "role": "supervised", "label": student, "seeds": 3, "test_acc": base - 0.01,
             "test_std": 0.01, "macs": 2e6 * it, "student_minus": 0.01, "diff_low": -0.01, "diff_high": 0.03,
             "verdict": "not distinguishable"},
            {"iteration": it, "role": "noiseless", "label": student, "seeds": 3, "test_acc": base - 0.015,
             "test_std": 0.01, "macs": 2e6 * it, "student_minus": 0.015, "diff_low": 0.005, "diff_high": 0.025,
             "verdict": "better"},
        ]
    folder = tmp_path / schema.STUDENT / "default"
    folder.mkdir(parents=True)
    pd.DataFrame(rows, columns=list(schema.STUDENT_TABLE.columns)).to_csv(folder / schema.STUDENT_TABLE.file, index=False)
    return tmp_path


def test_the_table_loads_and_draws_the_students_against_the_baseline(results: Path) -> None:
    assert data.student_names(results) == ["default"]
    table, warnings = data.load_student(results, "default")
    assert not warnings and len(table) == 8
    figure = F.self_training(table)
    by_name = {t.name: t for t in figure.data}
    student = by_name["noisy student (from the teacher)"]
    assert list(student.x) == [0, 1, 2] and list(student.y) == pytest.approx([0.80, 0.82, 0.84])  # teacher first
    assert list(by_name["supervised"].x) == [1, 2] and list(by_name["supervised"].error_y.array) == [0.01, 0.01]
    assert list(by_name["pseudo-label accuracy (pool)"].y) == pytest.approx([0.75, 0.8])
    assert "no self-training row" in F.self_training(table.iloc[0:0]).layout.annotations[0].text
    # the teacher's label (the leftmost point) is drawn whole: centred above it, inside a padded axis
    assert student.textposition == "top center" and student.cliponaxis is False
    assert tuple(figure.layout.xaxis.range) == (-0.5, 2.5)


def test_app_self_training_page(monkeypatch: pytest.MonkeyPatch, results: Path) -> None:
    at = open_app(monkeypatch, results, "Self-training")
    assert at.title[0].value == "Self-training" and titles(at) == ["Self-training up the ladder"]
    assert len(at.dataframe[0].value) == 8 and len(charts(at)[0]["data"]) == 4


def test_app_self_training_page_without_results_says_what_to_run(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    at = open_app(monkeypatch, tmp_path, "Self-training")
    assert any("scaler student" in i.value for i in at.info)
