"""Training throughput of scaler's trainer vs a plain PyTorch loop, side by side in one process.

The plain loop is what a tutorial writes: torchvision's FashionMNIST Dataset with ToTensor and
Normalize, a DataLoader (shuffle, the same batch), NCHW tensors, the same net, optimiser (SGD
Nesterov), loss and learning rate. scaler's trainer keeps the data as tensors in memory, augments
on tensors and runs channels_last. Rounds alternate between the two (interleaved, so machine noise
hits both) and the medians are compared; achieved multiply-adds per second count forward + backward
as 3x the forward MACs.

    .venv/bin/python benchmarks/trainer_throughput.py [--rounds 5] [--batches 20]
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torchvision
from torch import nn

from scaler.data import DEBIAN_FASHION_MNIST_DIR, DataConfig, load_data
from scaler.nn.build import build
from scaler.nn.complexity import complexity
from scaler.training.fidelity import PROXY
from scaler.training.trainer import TrainConfig, train
from scaler.zoo import get_model


def torchvision_root() -> Path:
    """Debian's IDX files laid out the way torchvision's FashionMNIST Dataset expects them."""
    root = Path(tempfile.mkdtemp(prefix="fmnist-"))
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for gz in DEBIAN_FASHION_MNIST_DIR.glob("*-ubyte.gz"):
        with gzip.open(gz) as src, open(raw / gz.name[:-3], "wb") as dst:
            shutil.copyfileobj(src, dst)
    return root


def plain_round(model: nn.Module, loader: torch.utils.data.DataLoader, batches: int, lr: float) -> float:
    """Images per second of ``batches`` steps of the textbook loop."""
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    model.train()
    seen, start = 0, time.perf_counter()
    for i, (x, y) in enumerate(loader):
        if i == batches:
            break
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        seen += len(x)
    return seen / (time.perf_counter() - start)


def scaler_round(model: nn.Module, data, batches: int, batch_size: int, lr: float) -> float:
    cfg = TrainConfig(epochs=1, batch_size=batch_size, lr=lr, device="cpu", max_batches_per_epoch=batches)
    return train(model, data, cfg).images_per_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    torch.manual_seed(0)
    data = load_data(DataConfig(val_size=1000, train_size=args.batch_size * args.batches))
    root = torchvision_root()
    tf = torchvision.transforms.Compose([torchvision.transforms.ToTensor(),
                                         torchvision.transforms.Normalize(data.mean, data.std)])
    dataset = torchvision.datasets.FashionMNIST(str(root), train=True, transform=tf, download=False)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=True, drop_last=True)
    lr = 0.1 * args.batch_size / 128
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}, "
          f"{args.batches} steps x {args.rounds} interleaved rounds, Fashion-MNIST 28 px")
    for name, spec in ((f"B0-like proxy (efficientnet-b0 x{PROXY.width:g} width)",
                        get_model("efficientnet-b0").scale(width=PROXY.width)),
                       ("plain CNN (plain-cnn)", get_model("plain-cnn"))):
        spec = spec.scale(resolution=28)
        macs = complexity(spec, in_channels=1, num_classes=10).macs
        ours_model = build(spec, num_classes=10, in_channels=1)
        plain_model = build(spec, num_classes=10, in_channels=1)
        ours, plain = [], []
        for _ in range(args.rounds):
            ours.append(scaler_round(ours_model, data, args.batches, args.batch_size, lr))
            plain.append(plain_round(plain_model, loader, args.batches, lr))
        o, p = statistics.median(ours), statistics.median(plain)
        print(f"{name}: {macs / 1e6:.2f} M MACs/image")
        print(f"  scaler trainer: {o:8.0f} img/s  ({3 * macs * o / 1e9:.2f} G MAC/s)")
        print(f"  plain loop:     {p:8.0f} img/s  ({3 * macs * p / 1e9:.2f} G MAC/s)")
        print(f"  ratio scaler / plain: {o / p:.2f}x")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
