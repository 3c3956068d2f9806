"""Data sets as in-memory tensors on the training device, plus batch-level augmentation.

Every source ends in the same place: uint8 NCHW images and int64 labels for a train and a test
split, from which a fixed, seeded validation split is carved (so search never sees the test set),
then optionally subset, resized once, normalised per channel with the training statistics and
moved to the device. Training then only indexes tensors: no DataLoader, no per-image Python.

Sources: ``fashion-mnist`` (default, offline from Debian's package), ``cifar10``/``cifar100``
(torchvision), ``imagefolder:PATH`` (class-per-folder images, cached as a tensor file under
``~/.cache/scaler``) and ``synthetic[:key=value,...]`` (seeded, learnable, for tests and smoke runs).
No file in a user's data directory is ever written; downloads and caches go to ``cache_dir()``.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from scaler.errors import ScalerError, UnknownNameError

DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
"""Where Debian's ``dataset-fashion-mnist`` package installs the IDX files."""

KNOWN_SOURCES = ("fashion-mnist", "cifar10", "cifar100", "imagefolder:PATH", "synthetic[:key=value,...]")

FASHION_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
FASHION_MNIST_CLASSES = (
    "t-shirt/top", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle boot",
)

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm"})
IMAGEFOLDER_DEFAULT_RESOLUTION = 64
IMAGEFOLDER_TEST_FRACTION = 0.1

SYNTHETIC_DEFAULTS: dict[str, int | float] = {
    "classes": 10, "size": 10000, "test_size": 2000, "channels": 3, "resolution": 32, "seed": 0, "noise": 1.0,
}

SMALL_DATA_VAL_SHARE = 1 / 3
"""The share of a data set too small for the default sizes that validates (the proxy fidelity's own
proportion, 5,000 images to validate beside 10,000 to train); the rest trains."""

_RESIZE_CHUNK = 4096


@dataclass(frozen=True)
class DataConfig:
    """Which data set to load and how to cut it.

    ``val_size`` images are carved from the training split with a permutation seeded by ``seed``;
    ``train_size`` (None: all the rest) is taken from what remains, so the validation set does not
    depend on ``train_size``. ``download=False`` forbids network access (offline CI).
    """

    name: str = "fashion-mnist"
    data_dir: str | None = None
    train_size: int | None = None
    val_size: int = 5000
    resolution: int | None = None
    seed: int = 0
    device: str = "cpu"
    download: bool = True


@dataclass
class Dataset:
    """Normalised float32 NCHW images and int64 labels, already on the training device.

    ``mean`` and ``std`` are the per-channel statistics of the training cut's pixels in [0, 1] that every
    split was normalised with, ``classes`` the class names by label: what a deployed model needs
    (``scaler export`` bakes them into the file)."""

    name: str
    x_train: Tensor
    y_train: Tensor
    x_val: Tensor
    y_val: Tensor
    x_test: Tensor
    y_test: Tensor
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    hflip: bool
    crop_padding: int

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def in_channels(self) -> int:
        return self.x_train.shape[1]

    @property
    def resolution(self) -> int:
        return self.x_train.shape[-1]

    @property
    def device(self) -> torch.device:
        return self.x_train.device

    def augment(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """This data set's training augmentation of one batch (see ``augment_batch``)."""
        return augment_batch(x, generator, hflip=self.hflip, padding=self.crop_padding)

    def to(self, device: torch.device | str) -> Dataset:
        """A copy with every tensor moved to ``device`` (no copy when already there)."""
        moved = {f: getattr(self, f).to(device) for f in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")}
        return dataclasses.replace(self, **moved)


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """'auto' -> cuda when available else cpu; bare 'cuda' -> this process's GPU (``local_rank``)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise ScalerError(f"bad device {name!r}: use auto, cpu, cuda or cuda:N") from err
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ScalerError(f"device {name!r} requested but CUDA is not available")
        if device.index is None:
            device = torch.device("cuda", local_rank)
        if device.index >= torch.cuda.device_count():
            raise ScalerError(f"device {name!r} does not exist: {torch.cuda.device_count()} GPU(s) visible")
    elif device.type != "cpu":
        raise ScalerError(f"bad device {name!r}: use auto, cpu, cuda or cuda:N")
    return device


def cache_dir() -> Path:
    """Where downloads and the imagefolder tensor cache live: ``$XDG_CACHE_HOME/scaler`` or ``~/.cache/scaler``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scaler"


def load_data(cfg: DataConfig) -> Dataset:
    """Load the data set ``cfg.name`` into memory on ``cfg.device``, split, resized and normalised."""
    return _assemble(_load_raw(cfg), cfg)


def _source(cfg: DataConfig) -> tuple[str, str]:
    """(kind, argument) of ``cfg.name``: ``imagefolder:PATH`` -> ("imagefolder", "PATH")."""
    kind, _, arg = cfg.name.strip().partition(":")
    kind = kind.lower().replace("_", "-")
    plain = kind in ("fashion-mnist", "cifar10", "cifar100") and not arg
    if plain or (kind == "imagefolder" and arg) or kind == "synthetic":
        return kind, arg
    raise UnknownNameError(f"unknown data set {cfg.name!r}: known sources are {', '.join(KNOWN_SOURCES)}")


def _load_raw(cfg: DataConfig) -> _Raw:
    kind, arg = _source(cfg)
    if kind == "fashion-mnist":
        return _load_fashion_mnist(cfg)
    if kind in ("cifar10", "cifar100"):
        return _load_cifar(kind, cfg)
    if kind == "imagefolder":
        return _load_imagefolder(arg, cfg)
    return _load_synthetic(arg, cfg)


def load_pool(name: str, data_dir: str | None, like: Dataset) -> Tensor:
    """Every image of the source ``name`` (its training and test splits, labels dropped) as ``like``'s
    training images are: at its resolution, normalised with its statistics, on its device; an outside
    unlabelled pool (``scaler student --unlabeled``)."""
    raw = _load_raw(DataConfig(name=name, data_dir=data_dir, resolution=like.resolution))
    x = torch.cat([raw.x_train, raw.x_test])
    if x.shape[1] != like.in_channels:
        raise ScalerError(f"{name} has {x.shape[1]}-channel images, {like.name} {like.in_channels}-channel ones")
    x = _to_float(x.to(like.device), like.resolution)
    shape = (1, -1, 1, 1)
    return x.sub_(x.new_tensor(like.mean).view(shape)).div_(x.new_tensor(like.std).view(shape))


def training_images(cfg: DataConfig) -> int:
    """How many images the data set's training split has, validation still in it (an image folder's
    files are counted, not decoded)."""
    kind, arg = _source(cfg)
    if kind == "imagefolder":
        train, test = _imagefolder_files(Path(arg).expanduser().resolve())
        count = sum(map(len, train.values()))
        return count if test is not None else count - _imagefolder_test_size(count)
    return len(_load_raw(cfg).x_train)


def native_resolution(cfg: DataConfig) -> int | None:
    """The side of the data set's own images, above which a training upsamples them; None for an image
    folder, whose files (of any size) are decoded at the resolution asked."""
    kind, _ = _source(cfg)
    if kind == "imagefolder":
        return None
    return _native_side(DataConfig(name=cfg.name, data_dir=cfg.data_dir, download=cfg.download))


@functools.lru_cache(maxsize=4)
def _native_side(source: DataConfig) -> int:
    """The side of ``source``'s images, read once per process (the CLI and the core both ask)."""
    return int(_load_raw(source).x_train.shape[-1])


def fit_sizes(cfg: DataConfig, train_given: bool, val_given: bool) -> tuple[DataConfig, int]:
    """``cfg`` with the sizes the user did not give treated as caps, not demands, and the number of
    training images the data set has. Where the sizes asked for do not fit, a default validation size
    becomes ``SMALL_DATA_VAL_SHARE`` of the data (leaving a given --train-size its images) and a default
    training size what the validation split leaves. A size the user gave is kept, and ``load_data``
    refuses it when the data set is too small. Where they fit (Fashion-MNIST, CIFAR) nothing changes."""
    n = training_images(cfg)
    val, train = cfg.val_size, cfg.train_size
    if not val_given and val + (train or 1) > n:
        val = max(1, int(n * SMALL_DATA_VAL_SHARE))
        if train_given and train is not None and 1 <= n - train < val:
            val = n - train
    if not train_given and train is not None and n - val >= 1:
        train = min(train, n - val)
    return dataclasses.replace(cfg, train_size=train, val_size=val), n


def augment_batch(x: Tensor, generator: torch.Generator, *, hflip: bool, padding: int) -> Tensor:
    """Random crop after reflect-padding by ``padding`` pixels, then (if ``hflip``) random horizontal flips.

    Works on a whole NCHW batch on its device with one offset per image; all randomness comes from
    ``generator`` (which must live on ``x``'s device), so a seeded generator gives identical batches.
    Reflect rather than zero padding because zero in normalised space is the mean colour, not black.
    """
    n, c, h, w = x.shape
    if padding > 0:
        p = min(padding, h - 1, w - 1)
        padded = F.pad(x, (p, p, p, p), mode="reflect")
        offsets = torch.randint(0, 2 * p + 1, (2, n), generator=generator, device=x.device)
        rows = offsets[0, :, None] + torch.arange(h, device=x.device)
        cols = offsets[1, :, None] + torch.arange(w, device=x.device)
        x = padded.gather(2, rows.view(n, 1, h, 1).expand(n, c, h, w + 2 * p))
        x = x.gather(3, cols.view(n, 1, 1, w).expand(n, c, h, w))
    if hflip:
        flip = torch.rand(n, generator=generator, device=x.device) < 0.5
        x = torch.where(flip.view(n, 1, 1, 1), x.flip(3), x)
    return x


@dataclass
class _Raw:
    """A source's output before splitting: uint8 NCHW images, int64 labels."""

    name: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    classes: tuple[str, ...]
    hflip: bool


def _assemble(raw: _Raw, cfg: DataConfig) -> Dataset:
    """Carve validation, subset, move, resize, normalise with training statistics."""
    n = len(raw.x_train)
    if not 1 <= cfg.val_size < n:
        raise ScalerError(f"val_size {cfg.val_size} must be between 1 and {n - 1} ({raw.name} has {n} training images)")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed))
    val_idx, train_idx = perm[: cfg.val_size], perm[cfg.val_size :]
    if cfg.train_size is not None:
        if not 1 <= cfg.train_size <= len(train_idx):
            raise ScalerError(
                f"train_size {cfg.train_size} must be between 1 and {len(train_idx)} "
                f"({raw.name}: {n} training images minus {cfg.val_size} for validation)"
            )
        train_idx = train_idx[: cfg.train_size]
    if cfg.resolution is not None and cfg.resolution < 1:
        raise ScalerError(f"resolution must be positive, got {cfg.resolution}")
    device = resolve_device(cfg.device)
    resolution = cfg.resolution or raw.x_train.shape[-1]

    def prepare(x: Tensor) -> Tensor:
        return _to_float(x.to(device), resolution)

    x_train = prepare(raw.x_train[train_idx])
    mean = x_train.mean(dim=(0, 2, 3))
    std = x_train.std(dim=(0, 2, 3)).clamp_min(1e-6)

    def normalise(x: Tensor) -> Tensor:
        return x.sub_(mean.view(1, -1, 1, 1)).div_(std.view(1, -1, 1, 1))

    return Dataset(
        name=raw.name,
        x_train=normalise(x_train),
        y_train=raw.y_train[train_idx].to(device),
        x_val=normalise(prepare(raw.x_train[val_idx])),
        y_val=raw.y_train[val_idx].to(device),
        x_test=normalise(prepare(raw.x_test)),
        y_test=raw.y_test.to(device),
        classes=raw.classes,
        mean=tuple(mean.tolist()),
        std=tuple(std.tolist()),
        hflip=raw.hflip,
        crop_padding=max(1, resolution // 8),
    )


def _to_float(x: Tensor, resolution: int) -> Tensor:
    """uint8 -> float32 in [0, 1], resized once (bilinear, antialiased) in chunks to bound memory."""
    x = x.float().div_(255)
    if x.shape[-2:] == (resolution, resolution):
        return x
    out = torch.empty(len(x), x.shape[1], resolution, resolution, device=x.device)
    for start in range(0, len(x), _RESIZE_CHUNK):
        chunk = x[start : start + _RESIZE_CHUNK]
        out[start : start + _RESIZE_CHUNK] = F.interpolate(
            chunk, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False
        ).clamp_(0, 1)
    return out


# --- Fashion-MNIST -------------------------------------------------------------------------


def _load_fashion_mnist(cfg: DataConfig) -> _Raw:
    """The data dir when given (and only there); else $SCALER_DATA, Debian's directory, the cache, a download."""
    if cfg.data_dir:
        files = _find_fashion_mnist(Path(cfg.data_dir))
        if files is None:
            names = ", ".join(f"{stem}.gz" for stem in FASHION_MNIST_FILES.values())
            raise ScalerError(f"Fashion-MNIST not found in --data-dir {cfg.data_dir}: expected {names}")
        return _parse_fashion_mnist(files)
    env = os.environ.get("SCALER_DATA")
    candidates = [Path(p) for p in (cfg.data_dir, env) if p]
    candidates += [DEBIAN_FASHION_MNIST_DIR, cache_dir()]
    for place in candidates:
        files = _find_fashion_mnist(place)
        if files is not None:
            return _parse_fashion_mnist(files)
    failure = "downloads disabled"
    if cfg.download:
        try:
            _download_fashion_mnist(cache_dir())
        except Exception as err:  # no network, mirror down, disk full: all mean "not available"
            failure = " ".join(f"download failed: {type(err).__name__}: {err}".split())
        else:
            files = _find_fashion_mnist(cache_dir())
            if files is not None:
                return _parse_fashion_mnist(files)
            failure = "download produced no IDX files"
    scaler_data = env if env else "(unset)"
    raise ScalerError(
        f"Fashion-MNIST not found: looked in $SCALER_DATA {scaler_data}, "
        f"{DEBIAN_FASHION_MNIST_DIR} and {cache_dir()} ({failure}); install Debian's dataset-fashion-mnist "
        f"(apt-get install dataset-fashion-mnist), or put the four IDX .gz files in a directory and pass "
        f"--data-dir or set SCALER_DATA"
    )


def _find_fashion_mnist(place: Path) -> dict[str, Path] | None:
    """The four IDX files (``.gz`` or extracted) in ``place`` or its torchvision layout, else None."""
    for folder in (place, place / "FashionMNIST" / "raw"):
        found = {}
        for key, stem in FASHION_MNIST_FILES.items():
            for candidate in (folder / f"{stem}.gz", folder / stem):
                if candidate.is_file():
                    found[key] = candidate
                    break
        if len(found) == len(FASHION_MNIST_FILES):
            return found
    return None


def _download_fashion_mnist(root: Path) -> None:
    """torchvision's download of the IDX files into ``root/FashionMNIST/raw``."""
    from torchvision.datasets import FashionMNIST

    FashionMNIST(str(root), train=True, download=True)


def _parse_fashion_mnist(files: dict[str, Path]) -> _Raw:
    x_train, y_train = read_idx(files["train_images"]), read_idx(files["train_labels"])
    x_test, y_test = read_idx(files["test_images"]), read_idx(files["test_labels"])
    for images, labels, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ScalerError(
                f"corrupt Fashion-MNIST {split} files {files[split + '_images']}, {files[split + '_labels']}: "
                f"images {tuple(images.shape)} do not match labels {tuple(labels.shape)}"
            )
        if len(labels) and int(labels.max()) >= len(FASHION_MNIST_CLASSES):
            raise ScalerError(f"corrupt Fashion-MNIST file {files[split + '_labels']}: label {int(labels.max())} > 9")
    return _Raw(
        name="fashion-mnist",
        x_train=x_train.unsqueeze(1),
        y_train=y_train.long(),
        x_test=x_test.unsqueeze(1),
        y_test=y_test.long(),
        classes=FASHION_MNIST_CLASSES,
        hflip=True,
    )


def read_idx(path: Path) -> Tensor:
    """Parse an unsigned-byte IDX file (gzipped or not) into a uint8 tensor; ScalerError naming it if corrupt."""
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
            blob = f.read()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise ScalerError(f"corrupt IDX file {path}: {err}") from err
    if len(blob) < 4 or blob[0] != 0 or blob[1] != 0 or blob[2] != 0x08 or not 1 <= blob[3] <= 4:
        raise ScalerError(f"corrupt IDX file {path}: bad magic number {blob[:4].hex() or '(empty)'}")
    ndim = blob[3]
    header = 4 + 4 * ndim
    if len(blob) < header:
        raise ScalerError(f"corrupt IDX file {path}: truncated header")
    shape = struct.unpack(f">{ndim}I", blob[4:header])
    if len(blob) - header != math.prod(shape):
        raise ScalerError(f"corrupt IDX file {path}: {len(blob) - header} data bytes, header says shape {shape}")
    return torch.from_numpy(np.frombuffer(blob, dtype=np.uint8, offset=header).reshape(shape).copy())


# --- CIFAR ---------------------------------------------------------------------------------


def _load_cifar(kind: str, cfg: DataConfig) -> _Raw:
    """torchvision's CIFAR from the data dir or $SCALER_DATA, else the cache (downloading there if allowed)."""
    from torchvision.datasets import CIFAR10, CIFAR100

    cls = CIFAR10 if kind == "cifar10" else CIFAR100
    env = os.environ.get("SCALER_DATA")
    attempts = [(Path(p), False) for p in (cfg.data_dir, env) if p] + [(cache_dir(), cfg.download)]
    errors = []
    for root, download in attempts:
        try:
            train = cls(str(root), train=True, download=download)
            test = cls(str(root), train=False, download=download)
        except Exception as err:  # torchvision raises RuntimeError, URLError, OSError...
            errors.append(f"{root}: {err}")
            continue
        return _Raw(
            name=kind,
            x_train=torch.from_numpy(train.data).permute(0, 3, 1, 2).contiguous(),
            y_train=torch.tensor(train.targets, dtype=torch.long),
            x_test=torch.from_numpy(test.data).permute(0, 3, 1, 2).contiguous(),
            y_test=torch.tensor(test.targets, dtype=torch.long),
            classes=tuple(train.classes),
            hflip=True,
        )
    hint = "" if cfg.download else " (downloads disabled)"
    raise ScalerError(
        f"{kind} not found{hint}: {'; '.join(errors)}; put torchvision's {kind} folder in --data-dir or "
        f"$SCALER_DATA, or allow the download into {cache_dir()}"
    )


# --- imagefolder ---------------------------------------------------------------------------


def _load_imagefolder(path: str, cfg: DataConfig) -> _Raw:
    """Class-per-folder images, decoded once and cached as uint8 tensors under ``cache_dir()``.

    ``PATH/train`` + ``PATH/test`` (or ``PATH/val``) are used as the splits when present; otherwise
    PATH itself is the tree and a fixed 10% of it becomes the test split.
    """
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise ScalerError(f"imagefolder: {root} is not a directory")
    resolution = cfg.resolution or IMAGEFOLDER_DEFAULT_RESOLUTION
    key = hashlib.sha256(f"{root}|{resolution}|{_tree_signature(root)}".encode()).hexdigest()[:20]
    cache = cache_dir() / "imagefolder" / f"{key}.pt"
    if cache.is_file():
        blob = torch.load(cache, weights_only=True)
    else:
        blob = _decode_imagefolder(root, resolution)
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".tmp{os.getpid()}")
        torch.save(blob, tmp)
        os.replace(tmp, cache)
    return _Raw(
        name=f"imagefolder:{root}",
        x_train=blob["x_train"],
        y_train=blob["y_train"],
        x_test=blob["x_test"],
        y_test=blob["y_test"],
        classes=tuple(blob["classes"]),
        hflip=True,
    )


def _tree_signature(root: Path) -> str:
    """Changes whenever an image is added, removed, replaced or touched anywhere under ``root``."""
    count, size, latest = 0, 0, 0
    for dirpath, _, filenames in os.walk(root):
        latest = max(latest, os.stat(dirpath).st_mtime_ns)
        for filename in filenames:
            if Path(filename).suffix.lower() in IMAGE_EXTENSIONS:
                st = os.stat(os.path.join(dirpath, filename))
                count, size, latest = count + 1, size + st.st_size, max(latest, st.st_mtime_ns)
    return f"{count}|{size}|{latest}"


def _list_images(folder: Path) -> dict[str, list[Path]]:
    """Class name -> sorted image files for each sub-directory of ``folder``."""
    classes = {}
    for class_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        files = sorted(p for p in class_dir.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        if files:
            classes[class_dir.name] = files
    return classes


def _imagefolder_files(root: Path) -> tuple[dict[str, list[Path]], Path | None]:
    """The training tree's images by class, and the test folder (None: the test split is carved)."""
    if not root.is_dir():
        raise ScalerError(f"imagefolder: {root} is not a directory")
    test_dir = next((root / s for s in ("test", "val") if (root / s).is_dir()), None)
    split = (root / "train").is_dir() and test_dir is not None
    train_files = _list_images(root / "train" if split else root)
    if len(train_files) < 2:
        raise ScalerError(f"imagefolder: {root} needs at least two class sub-directories holding images")
    count = sum(map(len, train_files.values()))
    if not split and count < 10:
        raise ScalerError(f"imagefolder: {root} has {count} images; need at least 10 to split off a test set")
    return train_files, test_dir if split else None


def _imagefolder_test_size(count: int) -> int:
    """Images carved from an image folder without a test folder for its test split."""
    return max(1, int(count * IMAGEFOLDER_TEST_FRACTION))


def _decode_imagefolder(root: Path, resolution: int) -> dict[str, object]:
    train_files, test_dir = _imagefolder_files(root)
    split = test_dir is not None
    classes = list(train_files)
    index = {name: i for i, name in enumerate(classes)}

    def decode(files: dict[str, list[Path]]) -> tuple[Tensor, Tensor]:
        images, labels = [], []
        for name, paths in files.items():
            for p in paths:
                images.append(_decode_image(p, resolution))
                labels.append(index[name])
        return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous(), torch.tensor(labels)

    x, y = decode(train_files)
    if split:
        test_files = _list_images(test_dir)
        unknown = sorted(set(test_files) - set(classes))
        if unknown:
            raise ScalerError(
                f"imagefolder: {test_dir} has classes missing from {root / 'train'}: {', '.join(unknown)}"
            )
        x_test, y_test = decode(test_files)
    else:
        perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
        n_test = _imagefolder_test_size(len(x))
        x_test, y_test = x[perm[:n_test]], y[perm[:n_test]]
        x, y = x[perm[n_test:]], y[perm[n_test:]]
    return {"x_train": x, "y_train": y, "x_test": x_test, "y_test": y_test, "classes": classes}


def _decode_image(path: Path, resolution: int) -> np.ndarray:
    """One RGB image, centre-cropped to a square and resized (bilinear, antialiased): HWC uint8."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im = ImageOps.fit(im.convert("RGB"), (resolution, resolution), method=Image.Resampling.BILINEAR)
            return np.asarray(im, dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as err:
        raise ScalerError(f"imagefolder: cannot read image {path}: {err}") from err


# --- synthetic -----------------------------------------------------------------------------


def _load_synthetic(options: str, cfg: DataConfig) -> _Raw:
    """Seeded class-dependent smooth patterns with random contrast plus pixel noise.

    Options (``synthetic:classes=10,size=2048,...``): classes, size (training split before the
    validation carve), test_size, channels, resolution, seed (the data's own seed, independent of
    ``cfg.seed`` so runs with different seeds see the same data), noise (pixel noise / pattern std).
    """
    opts = dict(SYNTHETIC_DEFAULTS)
    for item in filter(None, (s.strip() for s in options.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in SYNTHETIC_DEFAULTS:
            raise ScalerError(
                f"bad synthetic option {item!r}: use key=value with keys {', '.join(SYNTHETIC_DEFAULTS)}"
            )
        try:
            opts[key] = type(SYNTHETIC_DEFAULTS[key])(value.strip())
        except ValueError as err:
            raise ScalerError(f"bad synthetic option {item!r}: {err}") from err
    k, c, r = int(opts["classes"]), int(opts["channels"]), int(opts["resolution"])
    size, test_size, noise = int(opts["size"]), int(opts["test_size"]), float(opts["noise"])
    if k < 2 or c < 1 or r < 4 or size < 2 or test_size < 1 or noise < 0:
        raise ScalerError(
            f"bad synthetic options {opts}: need classes>=2, channels>=1, resolution>=4, size>=2, "
            "test_size>=1, noise>=0"
        )
    g = torch.Generator().manual_seed(int(opts["seed"]))
    patterns = F.interpolate(torch.randn(k, c, 4, 4, generator=g), size=(r, r), mode="bicubic", align_corners=False)
    patterns = (patterns - patterns.mean(dim=(1, 2, 3), keepdim=True)) / patterns.std(dim=(1, 2, 3), keepdim=True)

    def sample(n: int) -> tuple[Tensor, Tensor]:
        y = torch.randint(k, (n,), generator=g)
        contrast = 0.5 + torch.rand(n, 1, 1, 1, generator=g)
        x = contrast * patterns[y] + noise * torch.randn(n, c, r, r, generator=g)
        return (128 + 32 * x).round_().clamp_(0, 255).to(torch.uint8), y

    x_train, y_train = sample(size)
    x_test, y_test = sample(test_size)
    return _Raw(
        name=f"synthetic:{','.join(f'{key}={value}' for key, value in opts.items())}",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        classes=tuple(f"class{i}" for i in range(k)),
        hflip=False,
    )
