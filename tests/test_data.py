"""Tests of scaler.data: sources, splits, normalisation, error messages, caching and augmentation."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from scaler import data as data_mod
from scaler.data import DataConfig, augment_batch, load_data, read_idx
from scaler.errors import ScalerError, UnknownNameError

DEBIAN = data_mod.DEBIAN_FASHION_MNIST_DIR
needs_fashion = pytest.mark.skipif(
    not (DEBIAN / "train-images-idx3-ubyte.gz").is_file(), reason="Debian's dataset-fashion-mnist is not installed"
)
SYNTH = "synthetic:classes=4,size=600,test_size=100,channels=3,resolution=12"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No $SCALER_DATA, and a private cache so nothing from earlier runs or the user is found."""
    monkeypatch.delenv("SCALER_DATA", raising=False)
    cache = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


def _no_download(root: Path) -> None:
    raise AssertionError("tests must not download")


@pytest.fixture(scope="module")
def fashion() -> data_mod.Dataset:
    return load_data(DataConfig(download=False))


@needs_fashion
def test_fashion_mnist_from_debian_path(fashion: data_mod.Dataset) -> None:
    d = fashion
    assert d.name == "fashion-mnist"
    assert d.x_train.shape == (55000, 1, 28, 28)
    assert d.x_val.shape == (5000, 1, 28, 28)
    assert d.x_test.shape == (10000, 1, 28, 28)
    assert (d.num_classes, d.in_channels, d.resolution) == (10, 1, 28)
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    for y in (d.y_train, d.y_val, d.y_test):
        assert int(y.min()) == 0 and int(y.max()) == 9
    assert torch.bincount(d.y_test).tolist() == [1000] * 10  # the standard test split
    # Normalised with the training split's own statistics (Fashion-MNIST: mean 0.286, std 0.353).
    assert d.mean[0] == pytest.approx(0.286, abs=2e-3) and d.std[0] == pytest.approx(0.353, abs=2e-3)
    assert float(d.x_train.mean()) == pytest.approx(0.0, abs=1e-4)
    assert float(d.x_train.std()) == pytest.approx(1.0, abs=1e-4)
    assert float(d.x_test.mean()) == pytest.approx(0.0, abs=0.02)
    assert d.hflip and d.crop_padding == 3
    assert d.device == torch.device("cpu")


@needs_fashion
def test_fashion_mnist_subset_keeps_the_same_validation_split(fashion: data_mod.Dataset) -> None:
    small = load_data(DataConfig(train_size=1000, val_size=5000, download=False))
    assert small.x_train.shape == (1000, 1, 28, 28)
    assert torch.equal(small.y_val, fashion.y_val)
    other_seed = load_data(DataConfig(train_size=1000, seed=1, download=False))
    assert not torch.equal(other_seed.y_val, fashion.y_val)


def _copy_fashion(dst: Path) -> Path:
    dst.mkdir(parents=True)
    for stem in data_mod.FASHION_MNIST_FILES.values():
        os.symlink(DEBIAN / f"{stem}.gz", dst / f"{stem}.gz")
    return dst


@needs_fashion
def test_data_dir_and_env_are_searched_before_debian(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data_mod, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "nowhere")
    monkeypatch.setattr(data_mod, "_download_fashion_mnist", _no_download)
    env_dir = _copy_fashion(tmp_path / "env")
    monkeypatch.setenv("SCALER_DATA", str(env_dir))
    d = load_data(DataConfig(train_size=100, val_size=100))
    assert d.x_test.shape == (10000, 1, 28, 28)
    # data_dir wins over $SCALER_DATA: a corrupt file there is reported, not skipped.
    bad = tmp_path / "bad"
    bad.mkdir()
    for stem in data_mod.FASHION_MNIST_FILES.values():
        (bad / f"{stem}.gz").write_bytes(gzip.compress(b"\x00\x00\x09\x01" + b"\x00" * 8))
    with pytest.raises(ScalerError, match="corrupt IDX file .*bad"):
        load_data(DataConfig(data_dir=str(bad)))


def test_missing_fashion_mnist_names_every_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    debian = tmp_path / "debian-fashion"
    monkeypatch.setattr(data_mod, "DEBIAN_FASHION_MNIST_DIR", debian)
    calls = []

    def offline(root: Path) -> None:
        calls.append(root)
        raise OSError("network is\nunreachable")

    monkeypatch.setattr(data_mod, "_download_fashion_mnist", offline)
    monkeypatch.setenv("SCALER_DATA", str(tmp_path / "env-data"))
    with pytest.raises(ScalerError) as info:
        load_data(DataConfig())
    message = str(info.value)
    for place in ("$SCALER_DATA", str(tmp_path / "env-data"), str(debian), str(data_mod.cache_dir())):
        assert place in message
    assert "dataset-fashion-mnist" in message and "network is unreachable" in message
    assert "\n" not in message
    assert calls == [data_mod.cache_dir()]

    # A data dir the user names is the only place looked at, and it is never created.
    with pytest.raises(ScalerError, match="not found in --data-dir .*user-data: expected train-images"):
        load_data(DataConfig(data_dir=str(tmp_path / "user-data")))
    assert not (tmp_path / "user-data").exists()

    monkeypatch.delenv("SCALER_DATA")
    with pytest.raises(ScalerError, match=r"\$SCALER_DATA \(unset\).*downloads disabled"):
        load_data(DataConfig(download=False))

def _write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def test_read_idx_parses_and_rejects_corrupt_files(tmp_path: Path) -> None:
    good = tmp_path / "good.gz"
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(good, array)
    assert torch.equal(read_idx(good), torch.from_numpy(array))
    plain = tmp_path / "plain-ubyte"
    plain.write_bytes(gzip.decompress(good.read_bytes()))
    assert torch.equal(read_idx(plain), torch.from_numpy(array))

    bad_magic = tmp_path / "magic.gz"
    bad_magic.write_bytes(gzip.compress(b"\x00\x00\x0d\x01\x00\x00\x00\x01\x00"))
    truncated = tmp_path / "truncated.gz"
    truncated.write_bytes(gzip.compress(gzip.decompress(good.read_bytes())[:-1]))
    not_gzip = tmp_path / "notgzip.gz"
    not_gzip.write_bytes(b"this is not gzip data")
    for path, reason in ((bad_magic, "magic"), (truncated, "data bytes"), (not_gzip, "")):
        with pytest.raises(ScalerError, match=f"corrupt IDX file {path}.*{reason}"):
            read_idx(path)


def test_images_and_labels_must_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data_mod, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "nowhere")
    names = data_mod.FASHION_MNIST_FILES
    _write_idx(tmp_path / f"{names['train_images']}.gz", np.zeros((20, 28, 28)))
    _write_idx(tmp_path / f"{names['train_labels']}.gz", np.zeros(19))
    _write_idx(tmp_path / f"{names['test_images']}.gz", np.zeros((5, 28, 28)))
    _write_idx(tmp_path / f"{names['test_labels']}.gz", np.zeros(5))
    with pytest.raises(ScalerError, match="corrupt Fashion-MNIST train files"):
        load_data(DataConfig(data_dir=str(tmp_path), val_size=2))


def test_unknown_source_lists_known_ones() -> None:
    for name in ("mnist", "imagefolder", "cifar10:foo"):
        with pytest.raises(UnknownNameError) as info:
            load_data(DataConfig(name))
        for known in ("fashion-mnist", "cifar10", "cifar100", "imagefolder:PATH", "synthetic"):
            assert known in str(info.value)


def _unnormalise(d: data_mod.Dataset, x: torch.Tensor) -> torch.Tensor:
    return x * torch.tensor(d.std).view(1, -1, 1, 1) + torch.tensor(d.mean).view(1, -1, 1, 1)


def test_synthetic_is_seeded_split_and_learnable() -> None:
    a = load_data(DataConfig(SYNTH, val_size=100))
    b = load_data(DataConfig(SYNTH, val_size=100))
    assert a.x_train.shape == (500, 3, 12, 12)
    assert a.x_val.shape == a.x_test.shape == (100, 3, 12, 12)
    assert a.num_classes == 4 and not a.hflip
    for field in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert torch.equal(getattr(a, field), getattr(b, field))
    # The training seed reshuffles the validation carve but not the data themselves.
    c = load_data(DataConfig(SYNTH, val_size=100, seed=3))
    assert torch.allclose(_unnormalise(c, c.x_test), _unnormalise(a, a.x_test), atol=1e-5)
    assert not torch.equal(c.y_val, a.y_val)
    assert not torch.equal(load_data(DataConfig(SYNTH + ",seed=1", val_size=100)).y_test, a.y_test)
    # Train and validation are disjoint (every synthetic image is unique).
    train_rows = {tuple(r) for r in a.x_train.flatten(1).tolist()}
    assert not any(tuple(r) in train_rows for r in a.x_val.flatten(1).tolist())
    # Learnable: a nearest-class-mean classifier already beats chance by far.
    means = torch.stack([a.x_train[a.y_train == k].mean(0) for k in range(4)]).flatten(1)
    predicted = torch.cdist(a.x_test.flatten(1), means).argmin(1)
    assert (predicted == a.y_test).float().mean() > 0.9


def test_synthetic_options_and_sizes_are_checked() -> None:
    with pytest.raises(ScalerError, match="bad synthetic option 'colour=3'"):
        load_data(DataConfig("synthetic:colour=3"))
    with pytest.raises(ScalerError, match="bad synthetic option"):
        load_data(DataConfig("synthetic:size=many"))
    with pytest.raises(ScalerError, match="val_size 600"):
        load_data(DataConfig(SYNTH, val_size=600))
    with pytest.raises(ScalerError, match="train_size 501"):
        load_data(DataConfig(SYNTH, val_size=100, train_size=501))


def test_resolution_resizes_once() -> None:
    d = load_data(DataConfig(SYNTH, val_size=100, resolution=24, train_size=50))
    assert d.x_train.shape == (50, 3, 24, 24) and d.x_test.shape == (100, 3, 24, 24)
    assert d.crop_padding == 3
    assert float(d.x_train.mean()) == pytest.approx(0.0, abs=1e-4)


def _make_png_tree(root: Path, classes: dict[str, tuple[int, int, int]], per_class: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for name, colour in classes.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            size = (20 + 3 * i, 16 + 2 * i)  # varied, non-square sizes
            pixels = np.clip(np.array(colour) + rng.integers(-20, 20, size=(size[1], size[0], 3)), 0, 255)
            Image.fromarray(pixels.astype(np.uint8)).save(root / name / f"img{i}.png")
    (root / "README.txt").write_text("not an image")


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def test_imagefolder_decodes_caches_and_never_writes_the_user_dir(
    tmp_path: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "photos"
    _make_png_tree(root, {"blue": (0, 0, 200), "green": (0, 200, 0), "red": (200, 0, 0)}, per_class=6)
    before = _snapshot(root)
    d = load_data(DataConfig(f"imagefolder:{root}", resolution=16, val_size=3))
    assert d.classes == ("blue", "green", "red") and d.in_channels == 3 and d.resolution == 16
    assert len(d.x_train) + len(d.x_val) + len(d.x_test) == 18 and len(d.x_test) == 1 and len(d.x_val) == 3
    # Colour identifies the class: the dominant channel of each image is its label (blue=2, green=1, red=0).
    for x, y in ((d.x_train, d.y_train), (d.x_val, d.y_val)):
        assert torch.equal(_unnormalise(d, x).mean(dim=(2, 3)).argmax(1), 2 - y)
    cached = list((isolated_env / "scaler" / "imagefolder").glob("*.pt"))
    assert len(cached) == 1
    assert _snapshot(root) == before

    # A second load reads the cache instead of decoding again.
    with monkeypatch.context() as m:
        m.setattr(data_mod, "_decode_image", lambda *a: pytest.fail("decoded again despite the cache"))
        again = load_data(DataConfig(f"imagefolder:{root}", resolution=16, val_size=3))
    assert torch.equal(again.x_train, d.x_train)
    # Adding an image invalidates the cache.
    shutil.copy(root / "red" / "img0.png", root / "red" / "img9.png")
    grown = load_data(DataConfig(f"imagefolder:{root}", resolution=16, val_size=3))
    assert len(grown.x_train) + len(grown.x_val) + len(grown.x_test) == 19
    assert len(list((isolated_env / "scaler" / "imagefolder").glob("*.pt"))) == 2


def test_imagefolder_train_test_layout_and_errors(tmp_path: Path) -> None:
    root = tmp_path / "split"
    _make_png_tree(root / "train", {"cat": (90, 60, 30), "dog": (30, 60, 90)}, per_class=4)
    _make_png_tree(root / "test", {"cat": (90, 60, 30), "dog": (30, 60, 90)}, per_class=2)
    d = load_data(DataConfig(f"imagefolder:{root}", val_size=2))
    assert d.resolution == 64 and len(d.x_test) == 4 and len(d.x_train) == 6
    assert d.y_test.tolist() == [0, 0, 1, 1]

    with pytest.raises(ScalerError, match="not a directory"):
        load_data(DataConfig(f"imagefolder:{tmp_path / 'missing'}"))
    broken = tmp_path / "broken"
    _make_png_tree(broken, {"a": (1, 2, 3), "b": (3, 2, 1)}, per_class=5)
    (broken / "a" / "img0.png").write_bytes(b"not a png")
    with pytest.raises(ScalerError, match="cannot read image .*img0.png"):
        load_data(DataConfig(f"imagefolder:{broken}", val_size=2))


def test_augment_is_a_seeded_shifted_crop_and_flip() -> None:
    x = torch.randn(64, 3, 10, 10)
    out = augment_batch(x, torch.Generator().manual_seed(1), hflip=True, padding=2)
    assert out.shape == x.shape
    assert torch.equal(out, augment_batch(x, torch.Generator().manual_seed(1), hflip=True, padding=2))
    assert not torch.equal(out, augment_batch(x, torch.Generator().manual_seed(2), hflip=True, padding=2))
    assert torch.equal(augment_batch(x, torch.Generator(), hflip=False, padding=0), x)

    # Each output is a 10x10 window of the reflect-padded image, possibly mirrored.
    padded = F.pad(x, (2, 2, 2, 2), mode="reflect")
    flips = 0
    for i in range(len(x)):
        windows = [padded[i, :, r : r + 10, c : c + 10] for r in range(5) for c in range(5)]
        plain = any(torch.equal(out[i], w) for w in windows)
        mirrored = any(torch.equal(out[i].flip(2), w) for w in windows)
        assert plain or mirrored
        flips += mirrored and not plain
    assert 10 < flips < 54  # about half are flipped

    flipped_only = augment_batch(x, torch.Generator().manual_seed(0), hflip=True, padding=0)
    is_flip = [torch.equal(a, b.flip(2)) for a, b in zip(flipped_only, x, strict=True)]
    assert all(is_flip[i] or torch.equal(flipped_only[i], x[i]) for i in range(len(x))) and 10 < sum(is_flip) < 54


def test_dataset_augment_uses_its_own_settings() -> None:
    d = load_data(DataConfig(SYNTH, val_size=100))
    batch = d.x_train[:32]
    out = d.augment(batch, torch.Generator().manual_seed(0))
    expected = augment_batch(batch, torch.Generator().manual_seed(0), hflip=False, padding=d.crop_padding)
    assert torch.equal(out, expected) and not torch.equal(out, batch)


def test_cifar_without_files_or_downloads_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScalerError) as info:
        load_data(DataConfig("cifar100", data_dir=str(tmp_path), download=False))
    message = str(info.value)
    assert "cifar100 not found (downloads disabled)" in message and str(tmp_path) in message
    assert list(tmp_path.iterdir()) == []
