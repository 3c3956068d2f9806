"""The GPU path, checked: every CUDA path of scaler run as a user runs it, one line per check.

    bash scripts/gpu-check.sh [--device cuda|cuda:N|cpu] [--sizes tiny|gpu] [--only C1,C2] [--json]

Each check drives the real command in a subprocess (``python -m scaler ...``, ``torchrun``,
``benchmarks/trainer_throughput.py``) on a throwaway results folder, reads its ``--json`` output or
the files it wrote, and prints ``PASS <check>: <figure>`` or ``FAIL <check>: <reason>`` on stdout
(with ``--json``: one JSON object instead); progress and the versions go to stderr. The exit code
is 1 when any check failed. The checks, in order (``export`` exports the run that ``train`` wrote):

- device: the device resolves, ``--device auto`` finds it, bf16 is supported on it
- train: the B0 proxy (efficientnet-b0, width 0.5; the plain CNN at tiny sizes) trains: finite
  losses, accuracy above chance, the run record says the device, bf16 (CUDA) or float32 (CPU) and
  channels_last
- search: two ``scaler search`` workers on one study, each pinned to its device (one per GPU, both
  on one GPU when there is one), each trains trials on it; ``--jobs`` left to its default, 1 on a GPU
- scale: a 3-point compound-scaling grid at phi = 1 trains on the device
- bench: ``scaler bench`` trains two zoo models on the device
- torchrun: ``torchrun --nproc-per-node 1 -m scaler train`` trains with DDP, backend nccl on CUDA
  (gloo on the CPU)
- export: ``scaler export`` of the run ``train`` wrote (on CUDA: trained in bf16 there), and the ONNX
  file in onnxruntime on the CPU matches PyTorch on the CPU
- throughput: ``benchmarks/trainer_throughput.py`` on the device: scaler's trainer against the plain
  DataLoader loop and against the no-data bound

``--device cpu`` runs the same checks on the CPU at tiny sizes (the suite does, so the script
cannot rot between GPU sessions); on the CPU the search and the scale grid pass ``--jobs 1``, since
their CPU default (one process per core) is not what is checked here.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
STUDY = "gpu-check"


class CheckFailed(Exception):
    """A check's one-line reason for failing."""


@dataclass(frozen=True)
class Sizes:
    """How big each check's work is: tiny on a (busy) CPU, minutes in all on a GPU."""

    data: str | None  # None: Fashion-MNIST where its files are found, else synthetic 28 px images
    model: tuple[str, float]  # the train, torchrun and export checks' net and width
    threads: int | None  # torch threads of each command (None: torch's default)
    train_size: int  # the train and torchrun checks
    val_size: int
    epochs: int
    batch_size: int
    small_train_size: int  # search trials, scale grid points, bench cells: one epoch each
    trials: int
    throughput: tuple[int, int, int]  # rounds, batches, batch size of trainer_throughput.py
    timeout: float  # seconds per check


SIZES = {
    # Seeded 16 px images of 4 classes, one thread per command (two threads per process on a shared
    # 2-core machine ran 10x slower than one), and the plain CNN, which learns them in 24 steps (the
    # B0 proxy fits them as fast but needs more steps before its BN statistics let it generalise).
    "tiny": Sizes(data="synthetic:classes=4,size=512,test_size=128,resolution=16,channels=1",
                  model=("plain-cnn", 1.0), threads=1, train_size=384, val_size=128, epochs=2, batch_size=32,
                  small_train_size=256, trials=4, throughput=(1, 2, 16), timeout=300),
    "gpu": Sizes(data=None, model=("efficientnet-b0", 0.5), threads=None, train_size=30000, val_size=5000, epochs=2,
                 batch_size=128, small_train_size=10000, trials=4, throughput=(5, 50, 128), timeout=240),
}


@dataclass
class Context:
    """What the checks share: the device asked for, the sizes, the work folder, the data flags."""

    device: str
    sizes: Sizes
    work: Path
    data: str
    facts: dict = field(default_factory=dict)  # versions and the resolved device, filled by the device check
    train_run: Path | None = None  # the run folder the train check wrote, for the export check

    @property
    def cuda(self) -> bool:
        return self.facts.get("device", self.device).startswith("cuda")

    def data_args(self, train_size: int) -> list[str]:
        return ["--data", self.data, "--train-size", str(train_size), "--val-size", str(self.sizes.val_size),
                "--batch-size", str(self.sizes.batch_size)]


def log(message: str) -> None:
    print(f"gpu-check: {message}", file=sys.stderr, flush=True)


def fashion_mnist_dir() -> Path | None:
    """The folder holding Fashion-MNIST's four IDX .gz files ($SCALER_DATA, else Debian's copy), if any."""
    from scaler.data import DEBIAN_FASHION_MNIST_DIR

    for place in (os.environ.get("SCALER_DATA"), DEBIAN_FASHION_MNIST_DIR):
        if place and len(list(Path(place).glob("*-ubyte.gz"))) == 4:
            return Path(place)
    return None


def default_data(sizes: Sizes) -> str:
    """The sizes' data set, else Fashion-MNIST when it is on this machine, else seeded synthetic 28 px
    images of 10 classes."""
    if sizes.data:
        return sizes.data
    if fashion_mnist_dir() is not None:
        return "fashion-mnist"
    return (f"synthetic:classes=10,size={sizes.train_size + sizes.val_size},test_size={sizes.val_size},"
            f"resolution=28,channels=1")


def end_with_us() -> None:
    """In a command's process before it starts: end it when this script ends, even by SIGKILL (Linux)."""
    from scaler.training.parallel import end_with_parent

    end_with_parent(signal.SIGTERM)


def child_env(ctx: Context) -> dict[str, str]:
    """The environment of a command: this repository's scaler first on the path, no $SCALER_JOBS (the
    checks say --jobs where they mean it), the sizes' threads unless $OMP_NUM_THREADS says otherwise."""
    env = {k: v for k, v in os.environ.items() if k != "SCALER_JOBS"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    if ctx.sizes.threads and "OMP_NUM_THREADS" not in env:
        env["OMP_NUM_THREADS"] = str(ctx.sizes.threads)
    return env


def run(ctx: Context, name: str, argv: Sequence[str]) -> str:
    """Run ``argv``, its stderr written to ``name.log`` in the work folder as it comes; its stdout, or
    CheckFailed with the exit code (or the timeout) and the last line of its stderr."""
    log(f"{name}: {' '.join(argv[1:])}")
    path = ctx.work / f"{name}.log"
    with path.open("w") as err:
        try:
            done = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=err, text=True, cwd=ctx.work,
                                  timeout=ctx.sizes.timeout, env=child_env(ctx), preexec_fn=end_with_us)
        except subprocess.TimeoutExpired:
            raise CheckFailed(f"{name} still running after {ctx.sizes.timeout:g} s (--timeout); its last words: "
                              f"{last_line(path.read_text())}") from None
    if done.returncode != 0:
        raise CheckFailed(f"{name} exited {done.returncode}: {last_line(path.read_text())}")
    return done.stdout


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.replace("\r", "\n").splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(nothing on stderr)"


def scaler(*args: str) -> list[str]:
    return [PY, "-m", "scaler", *args]


def parse_json(text: str, what: str) -> dict:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CheckFailed(f"{what} printed no JSON on stdout: {text[:200]!r}") from exc


def expect(ok: bool, reason: str) -> None:
    if not ok:
        raise CheckFailed(reason)


def above_chance(acc: float | None, classes: int, n: int) -> bool:
    """Accuracy more than 3 binomial standard deviations above guessing."""
    chance = 1 / classes
    return acc is not None and acc > chance + 3 * math.sqrt(chance * (1 - chance) / n)


def runs_of(results: Path, kind: str) -> list[dict]:
    return [r for r in (json.loads(p.read_text()) for p in sorted((results / "runs").glob("*/run.json")))
            if r.get("kind") == kind]


def check_run_record(ctx: Context, record: dict, device: str, what: str) -> None:
    """A run record says it trained on ``device``, in the precision and memory format of that device."""
    precision = "bfloat16" if device.startswith("cuda") else "float32"
    expect(record.get("device") == device, f"{what} trained on {record.get('device')}, not {device}")
    expect(record.get("precision") == precision, f"{what} ran its forward pass in {record.get('precision')}, "
                                                 f"not {precision}")
    expect(record.get("channels_last") is True, f"{what}: weights not channels_last")


# --- the checks ------------------------------------------------------------------------------------


def check_device(ctx: Context) -> str:
    import torch

    from scaler.data import resolve_device
    from scaler.errors import ScalerError

    ctx.facts.update(torch=torch.__version__, cuda=torch.version.cuda, python=sys.version.split()[0],
                     gpus=torch.cuda.device_count() if torch.cuda.is_available() else 0)
    try:
        device = resolve_device(ctx.device)
    except ScalerError as exc:
        raise CheckFailed(str(exc)) from None
    auto = resolve_device("auto")
    ctx.facts["device"] = str(device)
    if device.type != "cuda":
        ctx.facts["device_name"] = "cpu"
        return f"{device} (auto -> {auto}), torch {torch.__version__}, CUDA {torch.version.cuda or 'none'}"
    name = torch.cuda.get_device_name(device)
    cudnn = torch.backends.cudnn.version()
    ctx.facts.update(device_name=name, cudnn=cudnn, capability=".".join(map(str, torch.cuda.get_device_capability(device))))
    expect(auto.type == "cuda", f"--device auto chose {auto} on a machine where {device} works")
    expect(torch.cuda.is_bf16_supported(), f"{name} does not support bf16, which the trainer's autocast uses")
    return (f"{device} = {name} (sm {ctx.facts['capability']}, {ctx.facts['gpus']} GPU(s)), auto -> {auto}, "
            f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {cudnn}, bf16 supported")


def check_train(ctx: Context) -> str:
    s, results = ctx.sizes, ctx.work / "train"
    model, width = s.model
    out = run(ctx, "train", scaler("train", model, "--width", str(width), *ctx.data_args(s.train_size),
                                   "--epochs", str(s.epochs), "--device", ctx.device, "--results", str(results),
                                   "--json"))
    record = parse_json(out, "scaler train")
    expect(record["status"] == "ok", f"status {record['status']}")
    losses = [h["train_loss"] for h in record["history"]]
    expect(bool(losses) and all(math.isfinite(v) for v in losses), f"train losses {losses}")
    check_run_record(ctx, record, ctx.facts["device"], "scaler train")
    n_val = record["data"]["val_size"]
    expect(above_chance(record["val_acc"], record["num_classes"], n_val),
           f"val acc {record['val_acc']} is not above chance ({record['num_classes']} classes, {n_val} images)")
    ctx.train_run = Path(record["path"])
    return (f"{model} x{width:g} on {record['data']['name'].split(':')[0]}: val acc {record['val_acc']:.4f}, test acc "
            f"{record['test_acc']:.4f} (chance {1 / record['num_classes']:.2f}), loss {losses[0]:.3f} -> "
            f"{losses[-1]:.3f}, {record['images_per_s']:.0f} img/s, {record['train_time_s']:.1f} s, "
            f"{record['precision']} channels_last on {record['device']}")


def worker_devices(ctx: Context) -> list[str]:
    """The device of each of the two search workers: one per GPU (both on it when there is one, or when
    ``--device cuda:N`` names it), or the CPU."""
    device = ctx.facts["device"]
    if ctx.cuda and ctx.device in ("cuda", "auto"):
        return [f"cuda:{i % ctx.facts['gpus']}" for i in range(2)]
    return [device, device]


def check_search(ctx: Context) -> str:
    import optuna

    s, results = ctx.sizes, ctx.work / "search"
    url = f"sqlite:///{ctx.work / 'studies.db'}"
    devices = worker_devices(ctx)
    jobs = [] if ctx.cuda else ["--jobs", "1"]
    argv = scaler("search", "--space", "mbconv", "--study", STUDY, "--storage", url, "--trials", str(s.trials),
                  "--confirm", "0", "--pruner", "none", *ctx.data_args(s.small_train_size), "--epochs", "1",
                  *jobs, "--results", str(results), "--json")
    log(f"search: 2 workers, {' '.join(argv[1:])} --device {'|'.join(devices)}")
    workers = [subprocess.Popen([*argv, "--device", d], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=ctx.work, env=child_env(ctx), preexec_fn=end_with_us) for d in devices]
    outputs = []
    deadline = time.monotonic() + s.timeout
    try:
        for i, worker in enumerate(workers):
            out, err = worker.communicate(timeout=max(1.0, deadline - time.monotonic()))
            (ctx.work / f"search-{i}.log").write_text(err)
            expect(worker.returncode == 0, f"worker {i} ({devices[i]}) exited {worker.returncode}: {last_line(err)}")
            outputs.append(parse_json(out, f"search worker {i}"))
    except subprocess.TimeoutExpired:
        raise CheckFailed(f"the search workers still ran after {s.timeout:g} s (--timeout)") from None
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    for i, summary in enumerate(outputs):
        stats = summary["stats"]
        expect(stats["finished"] == s.trials, f"worker {i} saw {stats['finished']} of {s.trials} trials finished")
        expect(stats["jobs"] == 1, f"worker {i} ran {stats['jobs']} processes; --jobs defaults to 1 on a GPU")
    trials = [t for t in optuna.load_study(study_name=STUDY, storage=url).get_trials()
              if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    expect(len(trials) == s.trials, f"{len(trials)} finished trials in the study, not {s.trials}")
    pinned = {str(w.pid): d for w, d in zip(workers, devices, strict=True)}
    records = {r["extra"]["trial"]: r for r in runs_of(results, "search") if r["extra"].get("study") == STUDY}
    trained = dict.fromkeys(pinned, 0)
    for t in trials:
        pid = t.user_attrs.get("worker", "").rpartition(":")[2]
        expect(pid in pinned, f"trial {t.number} was trained by {t.user_attrs.get('worker')}, not by a worker started here")
        record = records.get(t.number)
        expect(record is not None, f"trial {t.number} has no run record")
        check_run_record(ctx, record, pinned[pid], f"trial {t.number}")
        trained[pid] += 1
    expect(all(trained.values()), f"a worker trained no trial: {trained} (trials per worker pid)")
    best = max((r["val_acc"] or 0.0) for r in records.values())
    share = ", ".join(f"{pinned[pid]} {n}" for pid, n in trained.items())
    return (f"{s.trials} trials on one study by 2 workers (trials each: {share}), --jobs {outputs[0]['stats']['jobs']}"
            f"{' by default' if ctx.cuda else ''}, best val acc {best:.4f}")


def check_scale(ctx: Context) -> str:
    s, results = ctx.sizes, ctx.work / "scale"
    jobs = [] if ctx.cuda else ["--jobs", "1"]
    out = run(ctx, "scale", scaler("scale", "--base", "efficientnet-b0", "--grid", "--phi", "1", "--width", "0.25",
                                   "--step", "0.2", "--tol", "0.1", "--macs-tol", "0.1", *jobs,
                                   "--storage", f"sqlite:///{ctx.work / 'scale.db'}",
                                   *ctx.data_args(s.small_train_size), "--epochs", "1", "--device", ctx.device,
                                   "--results", str(results), "--json"))
    report = parse_json(out, "scaler scale")
    grid = report["grid"]
    expect(grid["complete"] and len(grid["rows"]) >= 2, f"grid incomplete: {len(grid['rows'])} points")
    expect(all(r["val_acc"] is not None for r in grid["rows"]), "a grid point has no val acc")
    records = runs_of(results, "scale")
    expect(len(records) >= len(grid["rows"]), f"{len(records)} run records for {len(grid['rows'])} grid points")
    for r in records:
        check_run_record(ctx, r, ctx.facts["device"], f"grid point {r['name']}")
    c = report["coefficients"]
    return (f"{len(grid['rows'])} grid points trained on {ctx.facts['device']}, winner alpha {c['alpha']:g} beta "
            f"{c['beta']:g} gamma {c['gamma']:g} (val acc {max(r['val_acc'] for r in grid['rows']):.4f})")


def check_bench(ctx: Context) -> str:
    s, results = ctx.sizes, ctx.work / "bench"
    models = ("plain-cnn", "efficientnet-b0")
    out = run(ctx, "bench", scaler("bench", "--models", ",".join(models), "--no-family", "--seeds", "1", "--width", "0.25",
                                   *ctx.data_args(s.small_train_size), "--epochs", "1", "--device", ctx.device,
                                   "--results", str(results), "--json"))
    parse_json(out, "scaler bench")
    from scaler.results.schema import RUN_RECORD, RUNS

    # a bench's cells are runs of kind "bench" in the results folder's training store
    records = (json.loads(p.read_text()) for p in sorted((results / RUNS).glob(f"*/{RUN_RECORD}")))
    cells = [r for r in records if r.get("kind") == "bench"]
    expect(len(cells) == len(models), f"{len(cells)} bench cells written, not {len(models)}")
    device, precision = ctx.facts["device"], "bfloat16" if ctx.cuda else "float32"
    for cell in cells:
        expect(cell["status"] == "ok", f"bench cell {cell['name']}: status {cell['status']}")
        expect((cell.get("device"), cell.get("precision")) == (device, precision),
               f"bench cell {cell['name']} trained on {cell.get('device')} in {cell.get('precision')}, "
               f"not {device} in {precision}")
    return f"{len(cells)} cells on {device} in {precision}: " + "; ".join(
        f"{c['name']} val acc {c['val_acc']:.4f} in {c['train_time_s']:.1f} s" for c in cells)


def check_torchrun(ctx: Context) -> str:
    s, (model, width) = ctx.sizes, ctx.sizes.model
    out = run(ctx, "torchrun", [PY, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "1",
                                "-m", "scaler", "train", model, "--width", str(width),
                                *ctx.data_args(s.train_size), "--epochs", str(s.epochs), "--device", ctx.device,
                                "--no-save", "--json"])
    record = parse_json(out, "torchrun ... scaler train")
    backend = "nccl" if ctx.cuda else "gloo"
    expect(record["status"] == "ok", f"status {record['status']}")
    expect(record.get("backend") == backend, f"process group backend {record.get('backend')}, not {backend}")
    expect(record["world_size"] == 1, f"world size {record['world_size']}")
    check_run_record(ctx, record, ctx.facts["device"], "torchrun's scaler train")
    expect(above_chance(record["val_acc"], record["num_classes"], record["data"]["val_size"]),
           f"val acc {record['val_acc']} is not above chance")
    return (f"DDP over {record['backend']}, world size 1: val acc {record['val_acc']:.4f}, "
            f"{record['images_per_s']:.0f} img/s on {record['device']}")


def check_export(ctx: Context) -> str:
    import numpy as np
    import onnxruntime as ort
    import torch

    from scaler.export import load_run

    expect(ctx.train_run is not None, "needs the run of the train check, which did not pass")
    target = ctx.work / "trained.onnx"
    run(ctx, "export", scaler("export", str(target), "--run", str(ctx.train_run), "--format", "onnx"))
    trained = load_run(ctx.train_run)
    x = trained.example(batch=8, seed=1)
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    (got,) = session.run(["logits"], {"images": x.numpy()})
    with torch.no_grad():
        want = trained.model(x).numpy()
    diff = float(np.abs(got - want).max())
    expect(got.shape == want.shape, f"onnxruntime gave shape {got.shape}, PyTorch {want.shape}")
    expect(diff <= 1e-4, f"onnxruntime differs from PyTorch by {diff:.2e} (> 1e-4)")
    return (f"run trained on {ctx.facts['device']} exported ({target.stat().st_size / 1e6:.1f} MB); onnxruntime "
            f"(CPU) vs PyTorch (CPU) on 8 images: max |diff| {diff:.1e}")


def check_throughput(ctx: Context) -> str:
    rounds, batches, batch_size = ctx.sizes.throughput
    if fashion_mnist_dir() is None:
        raise CheckFailed("the benchmark's plain loop reads Fashion-MNIST: set SCALER_DATA to its four IDX .gz files")
    out = run(ctx, "throughput", [PY, str(ROOT / "benchmarks" / "trainer_throughput.py"), "--device", ctx.device,
                                  "--rounds", str(rounds), "--batches", str(batches), "--batch-size", str(batch_size),
                                  "--json"])
    figures = parse_json(out, "trainer_throughput.py")
    parts = []
    for row in figures["models"]:
        rates = [row[k] for k in ("scaler_img_s", "plain_img_s", "bound_img_s")]
        expect(all(math.isfinite(v) and v > 0 for v in rates), f"{row['model']}: rates {rates}")
        parts.append(f"{row['model'].split(' (')[0]}: trainer {row['scaler_img_s']:.0f} img/s = "
                     f"{row['scaler_vs_plain']:.2f}x the plain loop ({row['plain_img_s']:.0f}), "
                     f"{row['scaler_vs_bound']:.2f} of the no-data bound ({row['bound_img_s']:.0f})")
    return f"batch {batch_size}, {batches} steps x {rounds} rounds: " + "; ".join(parts)


CHECKS: dict[str, Callable[[Context], str]] = {
    "device": check_device, "train": check_train, "search": check_search, "scale": check_scale,
    "bench": check_bench, "torchrun": check_torchrun, "export": check_export, "throughput": check_throughput,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gpu-check", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default: every GPU), cuda:N, cpu or auto")
    parser.add_argument("--sizes", choices=tuple(SIZES), help="tiny (default on the CPU) or gpu (default on CUDA)")
    parser.add_argument("--timeout", type=float, help="seconds each check may take (default: the sizes')")
    parser.add_argument("--only", help=f"comma-separated checks to run (of {','.join(CHECKS)}; export needs train)")
    parser.add_argument("--data", help="data set of the checks (default: fashion-mnist where its files are found, "
                                       "else synthetic 28 px)")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temporary folder)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout; the lines go to stderr")
    args = parser.parse_args(argv)
    only = args.only.split(",") if args.only else list(CHECKS)
    unknown = [c for c in only if c not in CHECKS]
    if unknown:
        parser.error(f"unknown check {unknown[0]!r}: use {', '.join(CHECKS)}")
    sizes = SIZES[args.sizes or ("tiny" if args.device == "cpu" else "gpu")]
    if args.timeout:
        sizes = dataclasses.replace(sizes, timeout=args.timeout)
    sys.path.insert(0, str(ROOT))  # this repository's scaler, as in the commands
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        work = Path(args.keep or tmp).resolve()
        work.mkdir(parents=True, exist_ok=True)
        ctx = Context(args.device, sizes, work, args.data or default_data(sizes))
        if "device" not in only:  # the others need the device it resolves
            run_check(ctx, "device", quiet=True)
        results = [run_check(ctx, name, args.json) for name in only]
    passed = sum(r["ok"] for r in results)
    log(f"{passed} of {len(results)} checks passed in {sum(r['seconds'] for r in results):.0f} s")
    if args.json:
        print(json.dumps({**ctx.facts, "device_asked": args.device, "data": ctx.data, "checks": results,
                          "passed": passed == len(results)}, indent=1))
    return 0 if passed == len(results) else 1


def run_check(ctx: Context, name: str, quiet: bool) -> dict:
    """One check, timed; its line on stdout (on stderr with ``quiet``)."""
    start = time.monotonic()
    try:
        if name != "device" and ctx.facts.get("device") is None:
            raise CheckFailed(f"no device: {ctx.device!r} did not resolve")
        figure, ok = CHECKS[name](ctx), True
    except CheckFailed as exc:
        figure, ok = str(exc), False
    except Exception as exc:  # noqa: BLE001 - any other error is this check's failure, the others still run
        figure, ok = f"{type(exc).__name__}: {last_line(str(exc))}", False
    line = f"{'PASS' if ok else 'FAIL'} {name}: {figure}"
    print(line, file=sys.stderr if quiet else sys.stdout, flush=True)
    return {"check": name, "ok": ok, "figure": figure, "seconds": round(time.monotonic() - start, 1)}


if __name__ == "__main__":
    sys.exit(main())
