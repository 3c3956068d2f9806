"""Training throughput of scaler's trainer vs a plain PyTorch loop and vs the no-data bound, side by
side in one process.

The plain loop is what a tutorial writes: torchvision's FashionMNIST Dataset with ToTensor and
Normalize, a DataLoader (shuffle, the same batch), NCHW fp32 tensors moved to the device batch by
batch, the same net, optimiser (SGD Nesterov), loss and learning rate. scaler's trainer keeps the
data as tensors on the device, augments on tensors and runs channels_last (bf16 autocast on CUDA).
The no-data bound is the trainer's own step (channels_last, its autocast, optimiser and loss) on one
batch that never changes: no indexing, no augmentation, so trainer / bound is what the data path
costs. Rounds alternate between the three (interleaved, so machine noise hits all) and the medians
are compared; achieved multiply-adds per second count forward + backward as 3x the forward MACs.
Fashion-MNIST is read from $SCALER_DATA or Debian's copy.

    .venv/bin/python benchmarks/trainer_throughput.py [--rounds 5] [--batches 20] [--device cuda] [--json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torchvision
from torch import nn

from scaler.data import DEBIAN_FASHION_MNIST_DIR, DataConfig, load_data, resolve_device
from scaler.nn.build import build
from scaler.nn.complexity import complexity
from scaler.training.fidelity import PROXY
from scaler.training.trainer import TrainConfig, _autocast, make_optimizer, train
from scaler.zoo import get_model


def torchvision_root() -> Path:
    """The IDX files of $SCALER_DATA or Debian's copy laid out the way torchvision's FashionMNIST Dataset
    expects them."""
    source = Path(os.environ.get("SCALER_DATA") or DEBIAN_FASHION_MNIST_DIR)
    files = sorted(source.glob("*-ubyte.gz"))
    if len(files) != 4:
        raise SystemExit(f"trainer_throughput: Fashion-MNIST's four IDX .gz files not found in {source} "
                         f"(set SCALER_DATA)")
    root = Path(tempfile.mkdtemp(prefix="fmnist-"))
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for gz in files:
        with gzip.open(gz) as src, open(raw / gz.name[:-3], "wb") as dst:
            shutil.copyfileobj(src, dst)
    return root


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work, so a timer reads work done, not work queued."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def plain_round(model: nn.Module, loader: torch.utils.data.DataLoader, batches: int, lr: float,
                device: torch.device) -> float:
    """Images per second of ``batches`` steps of the textbook loop."""
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    model.to(device).train()
    seen, start = 0, time.perf_counter()
    for i, (x, y) in enumerate(loader):
        if i == batches:
            break
        x, y = x.to(device), y.to(device)
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        seen += len(x)
    synchronize(device)
    return seen / (time.perf_counter() - start)


def scaler_round(model: nn.Module, data, batches: int, batch_size: int, lr: float, device: torch.device) -> float:
    cfg = TrainConfig(epochs=1, batch_size=batch_size, lr=lr, device=str(device), max_batches_per_epoch=batches)
    return train(model, data, cfg).images_per_s


def bound_round(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batches: int, lr: float,
                device: torch.device) -> float:
    """Images per second of the trainer's step on one batch already on the device: the no-data bound."""
    cfg = TrainConfig(epochs=1, batch_size=len(x), lr=lr, device=str(device))
    opt = make_optimizer(model, cfg)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    model.to(device, memory_format=torch.channels_last).train()
    x = x.contiguous(memory_format=torch.channels_last)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(batches):
        with _autocast(device):
            loss = loss_fn(model(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    synchronize(device)
    return batches * len(x) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (auto: cuda if available)")
    parser.add_argument("--json", action="store_true", help="the figures as JSON on stdout")
    args = parser.parse_args()
    device = resolve_device(args.device)
    torch.manual_seed(0)
    data = load_data(DataConfig(val_size=1000, train_size=args.batch_size * args.batches, device=str(device)))
    root = torchvision_root()
    tf = torchvision.transforms.Compose([torchvision.transforms.ToTensor(),
                                         torchvision.transforms.Normalize(data.mean, data.std)])
    dataset = torchvision.datasets.FashionMNIST(str(root), train=True, transform=tf, download=False)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=True, drop_last=True)
    lr = 0.1 * args.batch_size / 128
    x_fixed, y_fixed = data.x_train[: args.batch_size], data.y_train[: args.batch_size]
    header = {"device": str(device), "device_name": torch.cuda.get_device_name(device) if device.type == "cuda"
              else "cpu", "torch": torch.__version__, "threads": torch.get_num_threads(),
              "batch_size": args.batch_size, "batches": args.batches, "rounds": args.rounds}
    log = (lambda m: None) if args.json else print
    log(f"torch {torch.__version__} on {header['device_name']}, {torch.get_num_threads()} threads, batch "
        f"{args.batch_size}, {args.batches} steps x {args.rounds} interleaved rounds, Fashion-MNIST 28 px")
    rows = []
    for name, spec in ((f"B0-like proxy (efficientnet-b0 x{PROXY.width:g} width)",
                         get_model("efficientnet-b0").scale(width=PROXY.width)),
                       ("plain CNN (plain-cnn)", get_model("plain-cnn"))):
        spec = spec.scale(resolution=28)
        macs = complexity(spec, in_channels=1, num_classes=10).macs
        ours_model, plain_model, bound_model = (build(spec, num_classes=10, in_channels=1) for _ in range(3))
        ours, plain, bound = [], [], []
        for _ in range(args.rounds):
            ours.append(scaler_round(ours_model, data, args.batches, args.batch_size, lr, device))
            plain.append(plain_round(plain_model, loader, args.batches, lr, device))
            bound.append(bound_round(bound_model, x_fixed, y_fixed, args.batches, lr, device))
        o, p, b = statistics.median(ours), statistics.median(plain), statistics.median(bound)
        rows.append({"model": name, "macs": macs, "scaler_img_s": o, "plain_img_s": p, "bound_img_s": b,
                     "scaler_vs_plain": o / p, "scaler_vs_bound": o / b})
        log(f"{name}: {macs / 1e6:.2f} M MACs/image")
        log(f"  scaler trainer: {o:8.0f} img/s  ({3 * macs * o / 1e9:.2f} G MAC/s)")
        log(f"  plain loop:     {p:8.0f} img/s  ({3 * macs * p / 1e9:.2f} G MAC/s)")
        log(f"  no-data bound:  {b:8.0f} img/s  ({3 * macs * b / 1e9:.2f} G MAC/s)")
        log(f"  ratio scaler / plain: {o / p:.2f}x; scaler / bound: {o / b:.2f}")
    shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps({**header, "models": rows}, indent=1))


if __name__ == "__main__":
    main()
