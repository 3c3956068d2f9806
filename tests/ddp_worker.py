"""torchrun worker for tests/test_train.py: DDP training of a tiny CNN on synthetic data (gloo, CPU).

Each rank starts from different random weights (DDP must broadcast rank 0's) and writes what it
ends with to OUT_DIR/rank<N>.json, so the test can check that all ranks agree.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import torch
from torch import nn

from scaler.data import DataConfig, load_data
from scaler.training.trainer import Report, TrainConfig, distributed_context, leave_distributed, train


def _digest(module: nn.Module) -> str:
    """SHA-256 of every parameter and buffer, bit for bit."""
    h = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().contiguous().cpu().numpy().tobytes())
    return h.hexdigest()


def main(out_dir: Path) -> None:
    ctx = distributed_context("gloo")
    torch.manual_seed(100 + ctx.rank)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(64, 4),
    )
    data = load_data(DataConfig("synthetic:classes=4,size=1400,test_size=200,channels=1,resolution=12", val_size=200))
    reports: list[Report] = []
    cfg = TrainConfig(epochs=3, batch_size=64, device="cpu", reports_per_epoch=2, ema=0.9)
    result = train(model, data, cfg, callback=reports.append, evaluate_test=True)
    record = {
        "rank": ctx.rank,
        "world_size": result.world_size,
        "status": result.status,
        "val_acc": result.val_acc,
        "val_loss": result.val_loss,
        "test_acc": result.test_acc,
        "history": result.history,
        "callback_reports": len(reports),
        "model": _digest(model),
        "ema": _digest(result.ema_model),
    }
    (out_dir / f"rank{ctx.rank}.json").write_text(json.dumps(record))
    leave_distributed(0)  # as the scaler command ends a torchrun job


if __name__ == "__main__":
    main(Path(sys.argv[1]))
