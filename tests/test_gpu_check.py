"""``scripts/gpu-check.sh``: every CUDA path checked by one script, run here on the CPU so that it is
ready, unchanged, for the first GPU; and the torchrun context the check relies on."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch

from scaler.training.trainer import distributed_context

ROOT = Path(__file__).resolve().parents[1]
CHECKS = ["device", "train", "search", "scale", "bench", "torchrun", "export", "throughput"]


def gpu_check(*args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "scripts/gpu-check.sh", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.slow
def test_every_check_passes_on_the_cpu() -> None:
    done = gpu_check("--device", "cpu", "--json", timeout=1500)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["passed"] and result["device"] == "cpu"
    assert [c["check"] for c in result["checks"]] == CHECKS
    failed = [f"{c['check']}: {c['figure']}" for c in result["checks"] if not c["ok"]]
    assert not failed
    lines = [line for line in done.stderr.splitlines() if line.startswith(("PASS ", "FAIL "))]
    assert [line.split(":")[0] for line in lines] == [f"PASS {c}" for c in CHECKS]
    torchrun = next(c for c in result["checks"] if c["check"] == "torchrun")
    assert torchrun["figure"].startswith("DDP over gloo, world size 1")


def test_a_failing_check_makes_the_script_exit_1() -> None:
    """A device that is not there: the device check fails, and every check that needs it says why."""
    done = gpu_check("--device", "cuda:99", "--only", "device,train", timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]
    device, train = done.stdout.strip().splitlines()
    assert device.startswith("FAIL device: device 'cuda:99'")
    assert train == "FAIL train: no device: 'cuda:99' did not resolve"
    assert "0 of 2 checks passed" in done.stderr


def test_bad_usage_is_one_line_exit_2() -> None:
    done = gpu_check("--only", "train,nonsense", timeout=120)
    assert done.returncode == 2 and "unknown check 'nonsense'" in done.stderr and not done.stdout


def test_torchrun_means_distributed_at_any_world_size_and_only_the_trainer_makes_the_group(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``torchrun --nproc-per-node 1`` runs the DDP path (so one GPU checks nccl); reading the context
    (the CLI does, before the device is known) makes no process group, which on a machine with a GPU
    would have been nccl even for ``--device cpu``."""
    for var, value in (("RANK", "0"), ("LOCAL_RANK", "0"), ("WORLD_SIZE", "1"), ("TORCHELASTIC_RUN_ID", "x")):
        monkeypatch.setenv(var, value)
    ctx = distributed_context()
    assert (ctx.world_size, ctx.enabled, ctx.is_main) == (1, True, True)
    assert not torch.distributed.is_initialized()
    monkeypatch.delenv("TORCHELASTIC_RUN_ID")
    assert not distributed_context().enabled
