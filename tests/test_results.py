"""The results/ folder as its readers see it: every run writer records what the dashboard filters on."""

from __future__ import annotations

from pathlib import Path

from scaler.dashboard import data as dash
from scaler.data import DataConfig, load_data
from scaler.search import SearchConfig, run_search
from scaler.training.trainer import TrainConfig

SPACE = """model tiny
  resolution 16
  stem  conv c{8,16} k3
  stage conv c16 k3 s2
  head  gpool
  head  fc
"""


def test_search_runs_carry_their_data_set_on_the_runs_page(tmp_path: Path) -> None:
    space = tmp_path / "tiny.arch"
    space.write_text(SPACE)
    data = load_data(DataConfig(name="synthetic:classes=3,size=240,test_size=32,resolution=16", val_size=64,
                                download=False))
    cfg = SearchConfig(space=str(space), trials=2, width=1.0, seed=0, proxy_batch=8,
                       storage=f"sqlite:///{tmp_path / 'studies.db'}")
    run_search(cfg, data, TrainConfig(epochs=1, batch_size=64, device="cpu"), results=tmp_path, progress=False,
               log=lambda m: None)
    runs, warnings = dash.runs_frame(tmp_path)
    assert not warnings and len(runs) == 2
    assert set(runs["kind"]) == {"search"}
    assert set(runs["dataset"]) == {data.name}  # the Runs page's data-set filter shows every run
