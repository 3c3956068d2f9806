"""``scaler student``: Noisy Student self-training up the found family's ladder, and what it is worth.

The teacher is the family's rung phi = 0 trained on the labelled images alone (with the student's
noise); it pseudo-labels the pool (``scaler.student.labels``), and the next rung learns, from
scratch and under noise (RandAugment, dropout, stochastic depth), from labelled and pseudo-labelled
images mixed in each batch (``scaler.student.batches``); the student becomes the next iteration's
teacher. Every student is paired by seed with the same network trained on the labelled images
alone, under the same noise, for the same number of image passes (the supervised baseline), with its
teacher, and with ``ablate=("noise",)`` with a student that learnt the same pseudo-labels without
noise. Every training is a run of kind ``student`` in the results folder's one store
(``scaler.training.store``), keyed by its network, data cut, trainer settings and recipe (the
labelled split's hash, the pseudo-labels' origin: their teacher's key and labelling settings, the
noise, the steps), so a rerun trains nothing
twice and a changed teacher or setting never reuses a stale student. The table goes to
``results/student/<name>/`` (``table.csv``, ``summary.json``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scaler.errors import ScalerError
from scaler.results.schema import STUDENT, STUDENT_SUMMARY, STUDENT_TABLE

if TYPE_CHECKING:
    from torch import Tensor, nn

    from scaler.bench import Entry
    from scaler.data import DataConfig, Dataset
    from scaler.dsl import Spec
    from scaler.student.batches import MixedBatches
    from scaler.student.config import StudentConfig
    from scaler.student.labels import PseudoLabels
    from scaler.training.store import DataCache
    from scaler.training.trainer import TrainConfig

ROLES = ("teacher", "student", "supervised", "noiseless")


@dataclass
class _Step:
    """One iteration of one seed: its trainings' records and its pseudo-labels."""

    records: dict[str, dict]
    pseudo: dict


@dataclass
class _Plan:
    """What every seed's chain shares: the ladder as written and at its fidelity, the inputs, the split's hash."""

    ladder: list[Entry]
    specs: list[Spec]
    inputs: _Inputs
    split: str


class SelfTraining:
    """One self-training: the ladder, the data split, every training in the store, the table."""

    def __init__(self, cfg: StudentConfig, data_cfg: DataConfig, train_cfg: TrainConfig,
                 results: str | Path | None = None, log: Callable[[str], None] = print) -> None:
        from scaler.results import results_root
        from scaler.training.store import Store

        self.cfg, self.data_cfg, self.train_cfg, self.results, self.log = cfg, data_cfg, train_cfg, results, log
        self.folder = results_root(results) / STUDENT / cfg.name
        self.store = Store(results, "student")
        self.cache: DataCache | None = None  # the data at every resolution, loaded by ``prepare``

    def ladder(self) -> list[Entry]:
        """Teacher rung phi = 0, then one student rung per iteration (phi 0 again with ``same_size``)."""
        from scaler.bench import ladder_entries
        from scaler.scaling.base import resolve_base

        base = resolve_base(self.cfg.base, self.results)
        phis = [0] * self.cfg.iterations if self.cfg.same_size else list(range(1, self.cfg.iterations + 1))
        found = {e.phi: e for e in ladder_entries(base, sorted(set(phis) - {0}), self.results, lambda _: None)}
        missing = [phi for phi in phis if float(phi) not in found]
        if missing:
            flag = "" if self.cfg.base == "latest" else f" --base {self.cfg.base}"
            raise ScalerError(f"no phi={missing[0]} rung of {base.spec.name} yet: make the ladder first "
                              f"(scaler scale{flag} --phi {max(3, max(phis))})")
        return [found[0.0], *(found[float(phi)] for phi in phis)]

    def run(self) -> dict:
        """Check everything, then train (or reuse) every seed's chain and write and return the table."""
        plan = self.prepare()
        labelled, pool = len(plan.inputs.labelled), plan.inputs.rows
        self.log(f"student {self.cfg.name!r}: {labelled} labelled images, "
                 + (f"{len(pool)} in the pool" if pool is not None else f"the pool {self.cfg.unlabeled}")
                 + f"; teacher {plan.ladder[0].label} -> " + " -> ".join(e.label for e in plan.ladder[1:]))
        summary = self.summary(plan.ladder, self.chains(plan), labelled, None if pool is None else len(pool))
        from scaler.results import write_json, write_text

        write_text(self.folder / STUDENT_TABLE.file, STUDENT_TABLE.to_csv(summary["rows"]))
        write_json(self.folder / STUDENT_SUMMARY, summary)
        summary["folder"] = str(self.folder)
        return summary

    def chains(self, plan: _Plan) -> list[list[_Step]]:
        """Every seed's chain: one after another here, or with ``--jobs`` N one seed per spawned process
        (each loads the data and reads the store itself; the keys, not the process, decide every number
        but the thread count's)."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        from scaler.training.parallel import threads_per_job

        jobs = min(self.cfg.fidelity.processes(self.train_cfg.device), self.cfg.seeds)
        if jobs <= 1:
            return [self.chain(seed, plan) for seed in range(self.cfg.seeds)]
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_start_job, initargs=(threads_per_job(jobs),)) as pool:
            return list(pool.map(_chain_job, [(self.cfg, self.data_cfg, self.train_cfg, self.results, seed)
                                              for seed in range(self.cfg.seeds)]))

    def prepare(self) -> _Plan:
        """The ladder at its fidelity, the data and the labelled split, every input checked; nothing written."""
        from scaler.bench import at_fidelity
        from scaler.nn.complexity import complexity
        from scaler.student.labels import digest, labelled_split
        from scaler.training.store import DataCache

        ladder = self.ladder()
        data = self.cache = DataCache(self.data_cfg, keep=None)  # a bad data set fails here, before any write
        base = data.base
        specs = [at_fidelity(e, base.resolution, self.cfg.fidelity) for e in ladder]
        macs = [complexity(s, in_channels=base.in_channels, num_classes=base.num_classes).macs for s in specs]
        for i in range(1, len(specs)):
            if macs[i] < macs[i - 1]:
                raise ScalerError(f"student {ladder[i].label} ({macs[i]:,} MACs) is smaller than its teacher "
                                  f"{ladder[i - 1].label} ({macs[i - 1]:,} MACs): a student is at least its teacher's size")
        if self.cfg.unlabeled is None:
            labelled, pool = labelled_split(base.y_train, self.cfg.labels, self.data_cfg.seed)
        else:
            import torch

            labelled, pool = torch.arange(len(base.y_train)), None
        inputs = _Inputs(self, data, labelled, pool)
        # an outside pool is read now (a bad source fails before any training) and keyed by its images
        split = digest(labelled) if pool is not None else f"{digest(labelled)}+{digest(inputs.pool(base.resolution))}"
        return _Plan(ladder, specs, inputs, split)

    def chain(self, seed: int, plan: _Plan) -> list[_Step]:
        """One seed: the teacher, then per iteration the pseudo-labels, the student, its supervised
        baseline (and its noiseless twin); each student teaches the next iteration."""
        from scaler.student.labels import pseudo_labels, teacher_probs

        cfg = self.cfg
        ladder, specs, inputs, split = plan.ladder, plan.specs, plan.inputs, plan.split
        teacher_spec = specs[0]
        # the first teacher trains as long as a student that kept every pool image: one pass over the pool
        source = inputs.batches(teacher_spec.resolution, seed, noise=True, steps=inputs.pool_steps())
        teacher = self.train("teacher", 0, ladder[0], teacher_spec, seed, source, split, None, noise=True)
        steps: list[_Step] = []
        for it in range(1, len(ladder)):
            teacher_data = inputs.data.get(teacher_spec.resolution)
            probs = teacher_probs(_load_model(teacher, teacher_data), inputs.pool(teacher_spec.resolution))
            pseudo = pseudo_labels(probs, cfg.threshold, cfg.hard, cfg.per_class, inputs.hidden())
            self.log(f"student {cfg.name!r} seed {seed} iteration {it}: {len(pseudo.rows)} pseudo-labels "
                     f"({pseudo.per_class} per class, {pseudo.confident} confident)"
                     + (f", accuracy on the pool {pseudo.pool_acc:.4f}" if pseudo.pool_acc is not None else ""))
            # what the pseudo-labels are, for the training keys: their teacher's training and how they were made
            # (not the targets' bits, which a thread count can move in the last place)
            origin = {"teacher": teacher["extra"]["key"], "threshold": cfg.threshold, "hard": cfg.hard,
                      "per_class": cfg.per_class}
            spec, entry = specs[it], ladder[it]
            student_source: MixedBatches = inputs.batches(spec.resolution, seed, noise=True, pseudo=pseudo)
            records = {"teacher": teacher}
            records["student"] = self.train("student", it, entry, spec, seed, student_source, split, origin,
                                           noise=True)
            passes = student_source.steps_per_epoch(self.train_cfg.batch_size)
            records["supervised"] = self.train("supervised", it, entry, spec, seed,
                                               inputs.batches(spec.resolution, seed, noise=True, steps=passes),
                                               split, None, noise=True)
            if "noise" in cfg.ablate:
                records["noiseless"] = self.train("noiseless", it, entry, spec, seed,
                                                  inputs.batches(spec.resolution, seed, noise=False, pseudo=pseudo),
                                                  split, origin, noise=False)
            steps.append(_Step(records, pseudo.summary()))
            teacher, teacher_spec = records["student"], spec
        return steps

    def train(self, role: str, iteration: int, entry: Entry, spec: Spec, seed: int, source: MixedBatches, split: str,
              pseudo: dict | None, noise: bool) -> dict:
        """One training of the chain, found in the store or trained and kept there with its weights; ``pseudo``:
        where its pseudo-labels came from (None: the labelled images alone)."""
        from scaler.training.store import Training

        cfg = self.cfg
        if noise:
            spec = dataclasses.replace(spec, dropout=spec.dropout or cfg.dropout, drop_path=spec.drop_path or cfg.drop_path)
        else:
            spec = dataclasses.replace(spec, dropout=0.0, drop_path=0.0)
        recipe = {"labels": split, "pseudo": pseudo,
                  "ratio": cfg.ratio if pseudo else None, "steps": source.steps_per_epoch(self.train_cfg.batch_size),
                  "noise": cfg.noise() if noise else None}
        train = dataclasses.replace(self.train_cfg, seed=seed, augment=self.train_cfg.augment and noise)
        assert self.cache is not None
        training = Training(spec, train, self.cache.config(spec.resolution),
                            {"student": cfg.name, "role": role, "iteration": iteration, "label": entry.label,
                             "seed": seed}, recipe)
        record, reused = self.store.train(training, self.cache.load, log=self.log, save_weights=True,
                                          need_test=True, source=source)
        acc = record.get("test_acc")
        self.log(f"student {cfg.name!r} seed {seed} iteration {iteration} {role} {entry.label}: "
                 f"{'reused' if reused else 'trained'}, " + (f"test acc {acc:.4f}" if acc is not None else "diverged"))
        return record

    def summary(self, ladder: list[Entry], chains: list[list[_Step]], labelled: int, pool: int | None) -> dict:
        """The table (one row per iteration and role, the student against each; ``runs``: its run folder per
        seed, which only ``summary.json`` holds) and what it came from."""
        from scaler.stats import compare, spread

        rows, iterations = [], []
        for it in range(1, len(ladder)):
            steps = [chain[it - 1] for chain in chains]
            pseudo = [s.pseudo for s in steps]
            student_test = [_acc(s.records["student"], "test_acc") for s in steps]
            pool_acc = [p["pool_acc"] for p in pseudo if p["pool_acc"] is not None]
            mean_pool_acc = sum(pool_acc) / len(pool_acc) if pool_acc else None
            iterations.append({"iteration": it, "teacher": ladder[it - 1].label, "student": ladder[it].label,
                               "pseudo": pseudo,
                               "pseudo_acc": dataclasses.asdict(spread(pool_acc)) if pool_acc else None})
            for role in ROLES:
                if role not in steps[0].records:
                    continue
                got = [s.records[role] for s in steps]
                entry = ladder[it - 1] if role == "teacher" else ladder[it]
                val, test = spread([_acc(r, "val_acc") for r in got]), spread([_acc(r, "test_acc") for r in got])
                versus = compare(student_test, [_acc(r, "test_acc") for r in got]) if role != "student" else None
                rows.append({"iteration": it, "role": role, "label": entry.label, "phi": entry.phi, "seeds": len(got),
                             "val_acc": val.mean, "val_std": val.std, "test_acc": test.mean, "test_std": test.std,
                             "params": got[0]["params"], "macs": got[0]["macs"], "resolution": got[0]["resolution"],
                             "pseudo_acc": mean_pool_acc if role == "student" else None,
                             "kept": round(sum(p["images"] for p in pseudo) / len(pseudo)) if role == "student" else None,
                             "student_minus": versus.diff if versus else None,
                             "diff_low": versus.low if versus else None, "diff_high": versus.high if versus else None,
                             "verdict": versus.verdict if versus else None,
                             "runs": [r["path"] for r in got]})
        settings = {k: v for k, v in dataclasses.asdict(self.cfg).items() if k != "name"}
        data = {k: v for k, v in dataclasses.asdict(self.data_cfg).items() if k != "device"}
        return {"name": self.cfg.name, "settings": settings, "data": data,
                "train": {k: v for k, v in dataclasses.asdict(self.train_cfg).items() if k not in ("device", "seed")},
                "labelled": labelled, "pool": pool, "seeds": self.cfg.seeds, "iterations": iterations, "rows": rows}


class _Inputs:
    """The tensors the trainings draw from at each resolution: the labelled images and their targets, the
    pool (the training images outside the labelled split, or an outside source) and its hidden labels."""

    def __init__(self, owner: SelfTraining, data: DataCache, labelled: Tensor, pool: Tensor | None) -> None:
        self.owner, self.data, self.labelled, self.rows = owner, data, labelled, pool
        self._outside: dict[int, Tensor] = {}

    def pool(self, resolution: int) -> Tensor:
        """The pool's images at ``resolution``, normalised as the training images there."""
        d = self.data.get(resolution)
        if self.rows is not None:
            return d.x_train[self.rows.to(d.device)]
        if resolution not in self._outside:
            from scaler.data import load_pool

            self._outside[resolution] = load_pool(self.owner.cfg.unlabeled, self.owner.data_cfg.data_dir, d)  # type: ignore[arg-type]
        return self._outside[resolution]

    def pool_steps(self) -> int:
        """Steps of one pass over the whole pool at the ratio's share of each batch."""
        from scaler.student.batches import unlabelled_share

        size = len(self.rows) if self.rows is not None else len(self.pool(self.data.base.resolution))
        batch = self.owner.train_cfg.batch_size
        return max(1, size // unlabelled_share(batch, self.owner.cfg.ratio))

    def hidden(self) -> Tensor | None:
        """The pool's labels (never trained on: they score the pseudo-labels), None for an outside pool."""
        return None if self.rows is None else self.data.base.y_train.cpu()[self.rows]

    def batches(self, resolution: int, seed: int, noise: bool, pseudo: PseudoLabels | None = None,
                steps: int | None = None) -> MixedBatches:
        """The batch source of one training at ``resolution``: the labelled images, the pseudo-labelled
        ones if any, RandAugment if ``noise``."""
        from scaler.student.batches import MixedBatches, RandAugment, one_hot

        cfg, train = self.owner.cfg, self.owner.train_cfg
        d: Dataset = self.data.get(resolution)
        rows = self.labelled.to(d.device)
        x_l, t_l = d.x_train[rows], one_hot(d.y_train[rows], d.num_classes, train.label_smoothing)
        x_u = t_u = None
        if pseudo is not None:
            x_u, t_u = self.pool(resolution)[pseudo.rows.to(d.device)], pseudo.targets.to(d.device)
        augment = RandAugment(cfg.ra_ops, cfg.ra_magnitude, d.mean, d.std) if noise and cfg.ra_ops else None
        return MixedBatches(x_l, t_l, x_u, t_u, cfg.ratio, steps, augment, seed)


def _start_job(threads: int) -> None:
    """A chain process: it ends with the process that started it, and trains on its share of the cores."""
    import signal

    import torch

    from scaler.training.parallel import end_with_parent

    end_with_parent(signal.SIGTERM)
    torch.set_num_threads(threads)


def _chain_job(job: tuple[StudentConfig, DataConfig, TrainConfig, str | Path | None, int]) -> list[_Step]:
    """One seed's chain in a spawned process, logging to stderr."""
    from scaler.training.parallel import log_to_stderr

    cfg, data_cfg, train_cfg, results, seed = job
    worker = SelfTraining(cfg, data_cfg, train_cfg, results, log=log_to_stderr)
    return worker.chain(seed, worker.prepare())


def _load_model(record: dict, data: Dataset) -> nn.Module:
    """A kept training's module, rebuilt from its Spec and weights, on ``data``'s device."""
    import torch

    from scaler.dsl import parse_text, require_spec
    from scaler.nn.build import build
    from scaler.results.schema import RUN_WEIGHTS

    spec = require_spec(list(parse_text(record["spec"]).values())[-1])
    model = build(spec, num_classes=data.num_classes, in_channels=data.in_channels)
    model.load_state_dict(torch.load(Path(record["path"]) / RUN_WEIGHTS, map_location="cpu", weights_only=True))
    return model.to(data.device, memory_format=torch.channels_last)


def _acc(record: dict, key: str) -> float:
    """An accuracy of a record, 0 for a diverged run (as ``scaler bench`` counts it)."""
    return record.get(key) or 0.0


def format_student(summary: dict) -> str:
    """The table ``scaler student`` prints: per iteration every role's accuracies and the student against it."""
    from scaler.report import fixed, format_comparison, format_spread, format_table, plain, si

    rows = [{**r, "val": format_spread(r["val_acc"], r["val_std"] if r["seeds"] > 1 else None),
             "test": format_spread(r["test_acc"], r["test_std"] if r["seeds"] > 1 else None),
             "versus": format_comparison(r["student_minus"], r["diff_low"], r["diff_high"], r["verdict"])
             if r["student_minus"] is not None else "", "macs_si": si(r["macs"])} for r in summary["rows"]]
    table = format_table(rows, [("iteration", "it", plain), ("role", "role", plain), ("label", "model", plain),
                                ("macs_si", "MACs", plain), ("val", "val acc", plain), ("test", "test acc", plain),
                                ("pseudo_acc", "pseudo acc", lambda v: "" if v is None else fixed(4)(v)),
                                ("versus", "student minus it (test, 95% CI)", plain)])
    pool = f"{summary['pool']} unlabelled" if summary["pool"] is not None else f"the pool {summary['settings']['unlabeled']}"
    lines = [f"self-training {summary['name']!r}: {summary['labelled']} labelled images, {pool}, "
             f"{summary['seeds']} seed(s) paired", table]
    for it in summary["iterations"]:
        acc = it["pseudo_acc"]
        lines.append(f"iteration {it['iteration']} ({it['teacher']} -> {it['student']}): pseudo-labels "
                     + (f"{format_spread(acc['mean'], acc['std'] if acc['n'] > 1 else None)} accurate on the pool"
                        if acc else "on an outside pool (no labels to score them)"))
    if "folder" in summary:
        lines.append(f"saved {summary['folder']}")
    return "\n".join(lines)
