"""The one trainer behind ``train``, ``search`` and ``scale``: proxy and full runs, CPU, GPU and torchrun.

Choices (ARCHITECTURE.md gives the CPU measurements behind them): channels_last always; fp32 on the
CPU, bf16 autocast and cudnn.benchmark on CUDA; no torch.compile. Data are tensors already on the
device (``scaler.data``): each epoch indexes a seeded permutation, so there is no DataLoader and a
seed reproduces a CPU run exactly. Under torchrun the model is wrapped in DistributedDataParallel,
each rank takes its shard of every global batch, and evaluation metrics are all-reduced; only rank
0 calls the callback and shows progress.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import torch
import torch.distributed as torch_dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from scaler.data import Dataset, resolve_device
from scaler.errors import RunFailedError, ScalerError
from scaler.training import checkpoint as ckpt
from scaler.training.config import TrainConfig


class TrainingStopped(RunFailedError):
    """Raised on ranks other than 0 when rank 0's callback stopped the run (e.g. an Optuna prune)."""


@dataclass(frozen=True)
class Report:
    """Progress at one report point; ``epoch`` is fractional when ``reports_per_epoch`` > 1."""

    epoch: float
    step: int
    train_loss: float
    val_acc: float
    val_loss: float
    lr: float
    images_per_s: float
    elapsed_s: float


@dataclass
class TrainResult:
    """Outcome of ``train``. ``status`` is "ok" or "diverged" (then val/test metrics are NaN)."""

    status: str
    history: list[dict[str, float]]
    val_acc: float
    val_loss: float
    test_acc: float | None
    test_loss: float | None
    train_time_s: float
    images_per_s: float
    device: str
    epochs_run: float
    world_size: int = 1
    precision: str = "float32"  # the dtype the forward pass produced: bfloat16 under CUDA's autocast
    channels_last: bool = True  # every 4-D weight was channels_last when training ended
    backend: str | None = None  # the process group's backend under torchrun (gloo, nccl)
    ema_model: nn.Module | None = field(default=None, repr=False)


class BatchSource(Protocol):
    """Where a training's batches and their loss come from in place of the data's shuffled labelled images
    (``scaler.student``: labelled and pseudo-labelled images mixed in one batch, soft targets). One process
    only (not under torchrun); the trainer still applies the data's augmentation when ``cfg.augment``."""

    def steps_per_epoch(self, batch_size: int) -> int:
        """Optimizer steps in one epoch of batches of ``batch_size``."""
        ...

    def epoch(self, batch_size: int, generator: torch.Generator) -> Iterator[tuple[Tensor, Tensor]]:
        """One epoch's (images, targets) batches, ordered by ``generator`` (a CPU generator)."""
        ...

    def loss(self, logits: Tensor, targets: Tensor) -> Tensor:
        """The mean loss of a batch's float32 logits against its targets."""
        ...

    def generators(self) -> Sequence[torch.Generator]:
        """The random streams of its own the batches draw from (a checkpoint keeps their state)."""
        ...


@dataclass(frozen=True)
class DistContext:
    """This process's place in a torchrun job (rank 0 of 1 when not under torchrun). Under torchrun the
    run is distributed at any world size, so ``torchrun --nproc-per-node 1`` runs the DDP path too."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    torchrun: bool = False

    @property
    def enabled(self) -> bool:
        return self.world_size > 1 or self.torchrun

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def distributed_context(backend: str | None = None) -> DistContext:
    """Read torchrun's RANK/WORLD_SIZE/LOCAL_RANK (torchrun sets TORCHELASTIC_RUN_ID); with a ``backend``,
    also initialise the process group once.

    Only the trainer names the backend, from the device it trains on (nccl on CUDA, gloo on the CPU):
    a group made before the device is known would be nccl on any machine with a GPU, even for
    ``--device cpu``, whose CPU tensors nccl cannot reduce.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    ctx = DistContext(int(os.environ.get("RANK", "0")), world_size, int(os.environ.get("LOCAL_RANK", "0")),
                      "TORCHELASTIC_RUN_ID" in os.environ)
    if backend and ctx.enabled and not torch_dist.is_initialized():
        torch_dist.init_process_group(backend)
    return ctx


def leave_distributed(exit_code: int) -> None:
    """End this process of a torchrun job with ``exit_code``; return at once when it is in no process group.

    A rank that succeeded waits at a barrier for the others and destroys the group; a failed one
    leaves at once (torchrun then stops the rest; waiting would hang them in their next collective).
    Then the process exits without the interpreter's teardown (``os._exit``), its output flushed:
    DistributedDataParallel keeps the gloo group and its worker threads alive past
    ``destroy_process_group`` (torch 2.14), and a worker still releasing the last collective's
    tensors while the interpreter finalizes aborts the process (SIGABRT, "terminate called without an
    active exception") after a run that succeeded: 3 runs in 60 of ``tests/ddp_worker.py`` on a
    loaded 2-core machine, none in 60 since it leaves this way.
    """
    if not (torch_dist.is_available() and torch_dist.is_initialized()):
        return
    if exit_code == 0:
        torch_dist.barrier()
        torch_dist.destroy_process_group()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(ValueError, OSError):  # closed (a broken pipe) or gone
            stream.flush()
    os._exit(exit_code)


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, object]]:
    """Two optimizer groups: weight decay on conv/linear weights only, none on biases and norm parameters.

    Every parameter with at most one dimension is a bias or a norm (BN/GN/LN) scale or shift.
    """
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """SGD with Nesterov momentum 0.9, or AdamW, at ``cfg.peak_lr`` with decay groups from ``param_groups``."""
    groups = param_groups(model, cfg.decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.peak_lr, momentum=0.9, nesterov=True)
    return torch.optim.AdamW(groups, lr=cfg.peak_lr)


def lr_factor(step: int, total: int, warmup: int, schedule: str) -> float:
    """Multiplier of the peak lr for optimizer step ``step`` (0-based) of ``total``.

    onecycle: linear ramp from 1/25 to 1 over ``warmup`` steps, then cosine down to 1e-4 (the lr curve
    of torch's OneCycleLR); cosine: linear ramp from 1/warmup to 1, then cosine down to 0.
    """
    if step < warmup:
        start = 1 / 25 if schedule == "onecycle" else 1 / warmup
        return start + (1 - start) * step / warmup
    end = 1e-4 if schedule == "onecycle" else 0.0
    progress = (step - warmup) / max(1, total - warmup)
    return end + (1 - end) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


@torch.no_grad()
def evaluate(
    model: nn.Module, x: Tensor, y: Tensor, batch_size: int = 1024, ctx: DistContext | None = None
) -> tuple[float, float]:
    """Accuracy and mean cross-entropy (no label smoothing) of ``model`` in eval mode on ``x``, ``y``.

    With a distributed ``ctx`` each rank scores its shard and the sums are all-reduced, so every
    rank gets the same numbers.
    """
    ctx = ctx or DistContext()
    was_training = model.training
    model.eval()
    device = x.device
    sums = torch.zeros(3, dtype=torch.float64, device=device)  # correct, loss sum, count
    shard = torch.arange(ctx.rank, len(x), ctx.world_size, device=device)
    for start in range(0, len(shard), batch_size):
        idx = shard[start : start + batch_size]
        xb = x[idx].contiguous(memory_format=torch.channels_last)
        with _autocast(device):
            logits = model(xb).float()
        sums[0] += (logits.argmax(1) == y[idx]).sum()
        sums[1] += nn.functional.cross_entropy(logits, y[idx], reduction="sum")
        sums[2] += len(idx)
    if ctx.enabled:
        torch_dist.all_reduce(sums)
    model.train(was_training)
    correct, loss_sum, count = sums.tolist()
    return correct / max(count, 1), loss_sum / max(count, 1)


@dataclass(frozen=True)
class _Plan:
    """The shape of one run: how many steps, which of them report, batch sizes per rank."""

    steps_per_epoch: int
    total_steps: int
    local_batch: int
    eval_batch: int
    report_at: frozenset[int]  # 1-based step numbers within an epoch
    check_every: int  # how often the loss is checked for NaN/inf (each check syncs a GPU)


def _plan(cfg: TrainConfig, n: int, ctx: DistContext, device: torch.device, source: BatchSource | None = None) -> _Plan:
    if cfg.batch_size % ctx.world_size:
        raise ScalerError(f"batch_size {cfg.batch_size} is not divisible by the {ctx.world_size} torchrun processes")
    if source is not None and ctx.enabled:
        raise ScalerError("a training with its own batch source runs in one process, not under torchrun")
    if source is None and n < cfg.batch_size:
        raise ScalerError(f"batch_size {cfg.batch_size} is larger than the {n} training images")
    local = cfg.batch_size // ctx.world_size
    per_epoch = source.steps_per_epoch(cfg.batch_size) if source is not None else n // cfg.batch_size
    if cfg.max_batches_per_epoch is not None:
        per_epoch = min(per_epoch, cfg.max_batches_per_epoch)
    reports = frozenset(math.ceil(j * per_epoch / cfg.reports_per_epoch) for j in range(1, cfg.reports_per_epoch + 1))
    # no_grad keeps no activations, so twice the training batch fits for evaluation
    return _Plan(per_epoch, cfg.epochs * per_epoch, local, 2 * local, reports, 1 if device.type == "cpu" else 25)


def train(
    model: nn.Module,
    data: Dataset,
    cfg: TrainConfig,
    callback: Callable[[Report], None] | None = None,
    progress: bool = False,
    evaluate_test: bool = False,
    source: BatchSource | None = None,
    checkpoint: Path | None = None,
) -> TrainResult:
    """Train ``model`` in place on ``data`` and evaluate it on the validation split (and test split if asked).

    ``callback`` gets a ``Report`` ``reports_per_epoch`` times per epoch (rank 0 only); any exception
    it raises propagates unchanged and stops the run. A NaN/inf loss stops the run with status
    "diverged". With ``cfg.ema`` the EMA weights are what is evaluated and returned. Reseeds torch's
    global RNG with ``cfg.seed`` (dropout and stochastic-depth masks). A ``source`` gives the batches and
    the loss instead of ``data``'s training split (which then only sets the augmentation). With a
    ``checkpoint`` path the run is saved there after every whole epoch and, started again, goes on from
    the last one saved (``scaler.training.checkpoint``); a torchrun run keeps none.
    """
    ctx = distributed_context("nccl" if resolve_device(cfg.device).type == "cuda" else "gloo")
    device = resolve_device(cfg.device, ctx.local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True
    if data.device != device:
        data = data.to(device)
    n = len(data.x_train)
    plan = _plan(cfg, n, ctx, device, source)

    torch.manual_seed(cfg.seed + ctx.rank)  # dropout / stochastic depth masks
    order_gen = torch.Generator().manual_seed(cfg.seed)  # same on every rank: ranks shard one permutation
    aug_gen = torch.Generator(device=device).manual_seed(cfg.seed + 1_000_003 * (ctx.rank + 1))

    model.to(device, memory_format=torch.channels_last)
    net: nn.Module = model
    if ctx.enabled:
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = make_optimizer(model, cfg)
    warmup_steps = round(cfg.warmup * plan.steps_per_epoch)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, plan.total_steps, warmup_steps, cfg.schedule)
    )
    ema_model = _EMA(model, cfg.ema) if cfg.ema else None
    eval_model = ema_model.module if ema_model else model
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)

    live = ckpt.Live(model, optimizer, scheduler, ema_model.module if ema_model else None,
                     [order_gen, aug_gen, *(source.generators() if source is not None else ())], device)
    if ctx.enabled:
        checkpoint = None  # every rank has its own augmentation stream; one file cannot hold them
    done = ckpt.resume(checkpoint, live) if checkpoint is not None else ckpt.Progress()
    precision = done.precision

    def step_once(x: Tensor, y: Tensor, step: int) -> tuple[Tensor, float]:
        """One optimizer step on a batch: (its loss, the learning rate it used)."""
        nonlocal precision
        if cfg.augment:
            x = data.augment(x, aug_gen)
        x = x.contiguous(memory_format=torch.channels_last)
        with _autocast(device):
            logits = net(x)
            loss = (source.loss if source is not None else loss_fn)(logits.float(), y)
        precision = str(logits.dtype).removeprefix("torch.")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        if ema_model:
            ema_model.update(model, step)
        return loss.detach(), lr

    history = done.history
    status, step, train_time = "ok", done.step, done.train_time_s
    val_acc, val_loss = done.val_acc, done.val_loss
    start = time.perf_counter() - done.elapsed_s
    bar = tqdm(total=plan.total_steps, initial=step, desc="train", unit="step", dynamic_ncols=True,
               disable=not (progress and ctx.is_main))
    with bar, _deterministic(device.type == "cpu"):
        for epoch in range(done.epochs_done, cfg.epochs):
            model.train()
            batches = source.epoch(cfg.batch_size, order_gen) if source is not None else _shuffled(
                data, torch.randperm(n, generator=order_gen).to(device), cfg.batch_size, plan, ctx)
            loss_sum, loss_steps, interval_start = torch.zeros((), device=device), 0, time.perf_counter()
            for i, (xb, yb) in zip(range(plan.steps_per_epoch), batches, strict=False):
                loss, lr = step_once(xb, yb, step)
                step += 1
                loss_sum += loss
                loss_steps += 1
                bar.update(1)
                reporting = (i + 1) in plan.report_at
                if not (reporting or step % plan.check_every == 0):
                    continue
                mean_loss = _all_mean(loss_sum, ctx) / loss_steps
                if not math.isfinite(mean_loss):
                    status = "diverged"
                    train_time += time.perf_counter() - interval_start
                    break
                bar.set_postfix(loss=f"{mean_loss:.3f}", refresh=False)
                if not reporting:
                    continue
                interval_time = time.perf_counter() - interval_start
                train_time += interval_time
                if ctx.enabled:
                    _average_buffers(eval_model)
                val_acc, val_loss = evaluate(eval_model, data.x_val, data.y_val, plan.eval_batch, ctx)
                report = Report(epoch=epoch + (i + 1) / plan.steps_per_epoch, step=step, train_loss=mean_loss,
                                val_acc=val_acc, val_loss=val_loss, lr=lr,
                                images_per_s=loss_steps * cfg.batch_size / interval_time,
                                elapsed_s=time.perf_counter() - start)
                history.append(asdict(report))
                bar.set_postfix(loss=f"{mean_loss:.3f}", acc=f"{val_acc:.4f}", img_s=f"{report.images_per_s:.0f}")
                _notify(callback, report, ctx)
                loss_sum, loss_steps, interval_start = torch.zeros((), device=device), 0, time.perf_counter()
            if status == "diverged":
                break
            if checkpoint is not None:
                ckpt.save(checkpoint, live, ckpt.Progress(epoch + 1, step, train_time, time.perf_counter() - start,
                                                          history, val_acc, val_loss, precision))
    test_acc = test_loss = None
    if status == "diverged":
        val_acc = val_loss = float("nan")
        if evaluate_test:
            test_acc = test_loss = float("nan")
    elif evaluate_test:
        test_acc, test_loss = evaluate(eval_model, data.x_test, data.y_test, plan.eval_batch, ctx)
    if ctx.enabled:
        _average_buffers(model)
    return TrainResult(status=status, history=history, val_acc=val_acc, val_loss=val_loss, test_acc=test_acc,
                       test_loss=test_loss, train_time_s=train_time,
                       images_per_s=step * cfg.batch_size / train_time if train_time > 0 else 0.0,
                       device=str(device), epochs_run=step / plan.steps_per_epoch, world_size=ctx.world_size,
                       precision=precision, channels_last=all(p.is_contiguous(memory_format=torch.channels_last)
                                                              for p in model.parameters() if p.ndim == 4),
                       backend=torch_dist.get_backend() if ctx.enabled else None,
                       ema_model=ema_model.module if ema_model else None)


def _shuffled(data: Dataset, perm: Tensor, batch_size: int, plan: _Plan,
              ctx: DistContext) -> Iterator[tuple[Tensor, Tensor]]:
    """One epoch of ``data``'s training images in the order ``perm``: this rank's share of each global batch."""
    for i in range(plan.steps_per_epoch):
        lo = i * batch_size + ctx.rank * plan.local_batch
        idx = perm[lo : lo + plan.local_batch]
        yield data.x_train[idx], data.y_train[idx]


class _EMA:
    """Exponential moving average of a model's parameters and floating buffers (BN statistics).

    The decay ramps up as min(decay, (1 + step) / (10 + step)) so that short runs are not dominated
    by the random initialisation.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.module = copy.deepcopy(model).eval().requires_grad_(False)
        pairs = list(zip(self.module.state_dict().values(), model.state_dict().values(), strict=True))
        self.float_pairs = [(e, m) for e, m in pairs if e.is_floating_point()]
        self.other_pairs = [(e, m) for e, m in pairs if not e.is_floating_point()]

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """Blend the current weights of ``model`` (the one given at construction) into the average."""
        weight = 1 - min(self.decay, (1 + step) / (10 + step))
        torch._foreach_lerp_([e for e, _ in self.float_pairs], [m for _, m in self.float_pairs], weight)
        for e, m in self.other_pairs:
            e.copy_(m)


def _notify(callback: Callable[[Report], None] | None, report: Report, ctx: DistContext) -> None:
    """Call the callback on rank 0; if it raises, re-raise it there and stop the other ranks too."""
    error: BaseException | None = None
    if callback is not None and ctx.is_main:
        try:
            callback(report)
        except BaseException as err:  # noqa: BLE001 - re-raised unchanged below, after telling the other ranks
            error = err
    if ctx.enabled:
        flag = torch.tensor([float(error is not None)], device=_collective_device(ctx))
        torch_dist.all_reduce(flag, op=torch_dist.ReduceOp.MAX)
        if error is None and flag.item() > 0:
            raise TrainingStopped("training stopped by rank 0's callback")
    if error is not None:
        raise error


def _collective_device(ctx: DistContext) -> torch.device:
    """The device collectives of this process group need: the local GPU under nccl, else the CPU."""
    if torch_dist.is_initialized() and torch_dist.get_backend() == "nccl":
        return torch.device("cuda", ctx.local_rank)
    return torch.device("cpu")


def _all_mean(total: Tensor, ctx: DistContext) -> float:
    """``total`` averaged over ranks (just its value outside torchrun)."""
    if ctx.enabled:
        total = total.clone()
        torch_dist.all_reduce(total)
        total /= ctx.world_size
    return total.item()


@torch.no_grad()
def _average_buffers(module: nn.Module) -> None:
    """Average floating buffers (BN running statistics) over ranks so every rank evaluates the same model."""
    world_size = torch_dist.get_world_size()
    for buf in module.buffers():
        if buf.is_floating_point():
            torch_dist.all_reduce(buf)
            buf /= world_size


def _autocast(device: torch.device) -> contextlib.AbstractContextManager[None]:
    """bf16 autocast on CUDA; nothing on the CPU (where bf16 is slower than fp32)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def _deterministic(enabled: bool) -> Iterator[None]:
    """Deterministic algorithms (warn-only, so ops without one still run) for the duration, then restore."""
    previous = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    if enabled:
        torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])
