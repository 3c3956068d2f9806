"""``scaler bench``: the found family against the classic families, on the user's data.

The EfficientNet paper's Figure 5 sets B0..B7 beside the classic families at matched FLOPs, on
ImageNet. This is the same figure on the user's own data set: a preset of zoo models and the
user's family (the latest search's baseline and its rungs phi = 1..3 from ``scaler scale``) are all
trained by one trainer at one fidelity (the proxy width, the resolution-aware stride rule of
``scaler.strides``), each with S seeds. A rung trains at the data's resolution times its
resolution multiplier over the base, as compound scaling says, with the base's strides (the rule
applied at the data's resolution, ``family_strides``). Every (model, seed) is one cell,
a training kept in the results folder's one store (``scaler.training.store``: a run of kind
``bench`` under its ``training_key``), so an interrupted bench resumes where it stopped and a model
whose network has changed since (a rung ``scaler scale`` rewrote) is trained again; the
table (val and test accuracy mean ± std, params, MACs at fidelity, latency, the Pareto front on
accuracy against MACs, and each model against the reference paired by seed) is written to
``table.csv`` and ``summary.json``. On Fashion-MNIST the summary also sets the bench's models among
the published results of that data set (``scaler.zoo.fashion_mnist_published``), which were trained
with other schedules and augmentations: a reference point, not a like-for-like comparison.
The bases train at the data's resolution or ``--base-resolution``
below it (``--budget study``: half), and a model trained above the data's native resolution (a rung
grown past it) is marked ``upsampled``. ``--check-budget`` trains the reference's first seed again at
twice the epochs (``scaler.training.convergence``) and reports whether the budget is converged.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import statistics
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scaler.dsl import Spec
from scaler.errors import ScalerError
from scaler.results import read_json, results_root, write_json, write_text
from scaler.results.schema import (
    BENCH,
    BENCH_DIR,
    BENCH_SETTINGS,
    BENCH_SUMMARY,
    LADDER,
    ROBUSTNESS,
    ROBUSTNESS_CACHE,
    SCALE,
    SCALE_MODELS,
)
from scaler.stats import MIN_PAIRS_FOR_VERDICT, compare, kendall, pareto, spearman, spread
from scaler.strides import family_strides
from scaler.training.convergence import convergence, format_convergence
from scaler.training.fidelity import PROXY, ProxyFidelity, check_base_resolution, upsampled
from scaler.training.store import DataCache, Store, Training

if TYPE_CHECKING:  # torch comes with these; the CLI reads PRESETS and BenchConfig without it
    from scaler.data import DataConfig
    from scaler.scaling.base import Base
    from scaler.training.trainer import TrainConfig

#: Zoo models per preset: ``cpu`` fits the default bench in about 20 minutes on 2 CPU cores.
PRESETS: dict[str, tuple[str, ...]] = {
    "cpu": ("plain-cnn", "resnet18", "mobilenet-v2", "mnasnet-1.0", "efficientnet-b0"),
    "gpu": ("plain-cnn", "alexnet", "vgg11", "googlenet", "resnet18", "resnet50", "resnext50-32x4d",
            "wide-resnet50-2", "densenet121", "mobilenet-v2", "mnasnet-1.0", "bit-r50x1",
            *(f"efficientnet-b{i}" for i in range(4))),
}
FAMILY_SERIES = "found family"
FASHION_MNIST = "fashion-mnist"
PUBLISHED_NOTE = ("the published rows were trained by their authors to the end with their own schedules, "
                  "widths and augmentations (their preprocessing column); this bench's rows at its own "
                  "fidelity: a reference point, not a like-for-like comparison")
DEFAULT_PHIS = (1, 2, 3)


@dataclass(frozen=True)
class BenchConfig:
    """What to bench and how; the fidelity is recorded and a resumed bench must match it."""

    name: str = "default"
    models: tuple[str, ...] | None = None  # zoo names; None: the preset's
    preset: str = "cpu"
    zoo: bool = True  # the zoo models (``models``, else the preset's)
    family: bool = True  # the base's family: the base and its rungs
    base: str = "latest"  # whose family: latest (the latest search's best), a zoo name or a DSL file
    phis: tuple[int, ...] = DEFAULT_PHIS
    seeds: int = PROXY.seeds
    width: float = PROXY.width
    strides: str = PROXY.strides
    min_feature: int = PROXY.min_feature
    reference: str | None = None  # the model every other is compared with (default: the found base)
    jobs: int | None = PROXY.jobs  # training processes (scaler.training.parallel; None: default_jobs)
    check_budget: bool = False  # the reference's first seed again at twice the epochs (not a pinned setting)

    @property
    def fidelity(self) -> ProxyFidelity:
        """The proxy fidelity of every cell (epochs and train size: the TrainConfig's and DataConfig's)."""
        return ProxyFidelity(width=self.width, strides=self.strides, min_feature=self.min_feature, seeds=self.seeds,
                             jobs=self.jobs)

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise ScalerError(f"unknown preset {self.preset!r}; use one of {', '.join(PRESETS)}")
        if self.models and not self.zoo:
            raise ScalerError("--models names zoo models and --no-zoo leaves them out: give one of the two")
        if self.base != BenchConfig.base and not self.family:
            raise ScalerError("--base names the family and --no-family leaves it out: give one of the two")
        self.fidelity  # noqa: B018 (its checks)


@dataclass(frozen=True)
class RobustnessScorer:
    """How ``scaler bench --robustness`` scores its models after training (the CLI builds it on
    ``scaler.robustness``, a layer below the bench): ``score(run folder by label, the reference's
    label, the folder to keep its results in)`` -> {label: {"mce": ..., "mfr": ...}}, with the
    settings it scores under (recorded)."""

    score: Callable[[dict[str, Path], str, Path], dict[str, dict]]
    settings: dict


@dataclass(frozen=True)
class Entry:
    """One model of the bench: its label, its Spec as written, its series and its resolution multiplier."""

    label: str
    spec: Spec
    series: str
    resolution_mult: float = 1.0
    phi: float | None = None


def entries(cfg: BenchConfig, results: str | Path | None = None,
            log: Callable[[str], None] = print) -> list[Entry]:
    """The models to train, zoo models first, every name checked before anything trains."""
    from scaler.zoo import load_spec

    out = [Entry(name, spec, spec.family) for name in (cfg.models or PRESETS[cfg.preset]) if cfg.zoo
           for spec in [load_spec(name)]]
    if cfg.family:
        out += family_entries(cfg.base, cfg.phis, results, log)
    labels = [e.label for e in out]
    if len(set(labels)) != len(labels):
        raise ScalerError(f"a model is named twice: {', '.join(sorted({x for x in labels if labels.count(x) > 1}))}")
    return out


def family_entries(base: str, phis: Sequence[int], results: str | Path | None,
                   log: Callable[[str], None]) -> list[Entry]:
    """``base`` (``latest``: the latest search's baseline, none before a search; a zoo name or a DSL file)
    and the rungs ``scaler scale`` wrote for it.

    The baseline is taken at its nominal size, exactly as ``scaler scale`` grew it (``resolve_base``: the
    space's width, resolution and strides, not the proxy ``best.arch`` holds), so the bench's width and
    stride rule apply to it once, as to every zoo model, and a rung's resolution multiplier is over the
    same base resolution as the ladder's.
    """
    from scaler.scaling.base import resolve_base

    try:
        found_base = resolve_base(base, results)
    except ScalerError:
        if base != "latest":  # a base the user named must exist; only the latest search may not be there yet
            raise
        log("no search result yet: the bench has no found family (run scaler search --space mbconv)")
        return []
    return ladder_entries(found_base, phis, results, log)


def ladder_entries(found_base: Base, phis: Sequence[float], results: str | Path | None,
                   log: Callable[[str], None]) -> list[Entry]:
    """``found_base`` at phi = 0 and those of its rungs at ``phis`` that ``scaler scale`` wrote (each one
    missing is logged and left out), as ``scaler bench`` and ``scaler student`` take the family."""
    from scaler.dsl import parse_file, require_spec

    base = found_base.spec
    found = [Entry(base.name, base, FAMILY_SERIES, 1.0, 0.0)]
    folder = results_root(results) / SCALE / found_base.key
    table = folder / LADDER.file
    rungs, grown_from = {}, base.resolution
    if table.is_file():
        with open(table, newline="") as f:
            rows = list(csv.DictReader(f))
        rungs = {float(r["phi"]): r["name"] for r in rows if r.get("label") == "derived"}
        # a rung's resolution multiplier is over the base the ladder grew it from, as the ladder wrote it
        # (the base resolved here is the same one unless the search's settings left the storage)
        grown_from = next((int(r["resolution"]) for r in rows if r.get("label") == "base"), grown_from)
    for phi in phis:
        name = rungs.get(float(phi))
        path = folder / SCALE_MODELS / f"{name}.arch" if name else None
        if path is None or not path.is_file():
            log(f"no phi={phi} rung of {base.name} yet (run scaler scale --phi {phi}): left out")
            continue
        spec = require_spec(list(parse_file(path).values())[-1])
        found.append(Entry(spec.name, spec, FAMILY_SERIES, spec.resolution / grown_from, float(phi)))
    return found


def at_fidelity(entry: Entry, base_resolution: int, fidelity: ProxyFidelity) -> Spec:
    """The entry as trained at ``fidelity``: the proxy width, its resolution (``base_resolution``, the
    data's, times its multiplier), the strides of its family's base at ``base_resolution``."""
    spec = entry.spec.scale(width=fidelity.width, resolution=round(base_resolution * entry.resolution_mult))
    return family_strides(spec, base_resolution, fidelity.min_feature, fidelity.strides)


class Bench:
    """One bench folder: its settings (pinned) and its table; its cells (one per model and seed) are
    trainings in the results folder's store."""

    def __init__(self, cfg: BenchConfig, data_cfg: DataConfig, train_cfg: TrainConfig,
                 results: str | Path | None = None, log: Callable[[str], None] = print) -> None:
        self.cfg, self.data_cfg, self.train_cfg, self.results, self.log = cfg, data_cfg, train_cfg, results, log
        self.folder = results_root(results) / BENCH_DIR / cfg.name
        self.store = Store(results, "bench")

    @property
    def jobs(self) -> int:
        """Training processes: ``--jobs``, else ``default_jobs`` of the training device."""
        return self.cfg.fidelity.processes(self.train_cfg.device)

    def settings(self) -> dict:
        """What the cells must share to be comparable."""
        data = {k: v for k, v in dataclasses.asdict(self.data_cfg).items() if k not in ("device", "data_dir")}
        train = {k: v for k, v in dataclasses.asdict(self.train_cfg).items() if k not in ("device", "seed")}
        return {"width": self.cfg.width, "strides": self.cfg.strides, "min_feature": self.cfg.min_feature,
                "data": data, "train": train}

    def pin(self) -> None:
        """Record the settings of a new bench; refuse to resume one run with other settings."""
        path = self.folder / BENCH_SETTINGS
        if path.exists():
            previous, problem = read_json(path)
            if problem:
                raise ScalerError(problem)
            if previous != self.settings():
                changed = sorted(k for k in self.settings() if previous.get(k) != self.settings()[k])
                raise ScalerError(f"bench {self.cfg.name!r} was run with other settings ({', '.join(changed)}); "
                                  f"use another --name or the same flags")
        else:
            write_json(path, self.settings())

    def trained_spec(self, entry: Entry, base_resolution: int) -> Spec:
        """The entry at this bench's fidelity (``at_fidelity``)."""
        return at_fidelity(entry, base_resolution, self.cfg.fidelity)

    def training(self, entry: Entry, seed: int, data: DataCache) -> Training:
        """One cell: the entry at this bench's fidelity, trained with ``seed`` on the data at its
        resolution (the data's times the entry's resolution multiplier)."""
        spec = self.trained_spec(entry, data.base.resolution)
        return Training(spec, dataclasses.replace(self.train_cfg, seed=seed), data.config(spec.resolution),
                        {"bench": self.cfg.name, "label": entry.label, "seed": seed})

    def known(self, training: Training, weights: bool = False) -> dict | None:
        """The run an earlier call trained for this very network and settings (with its test accuracy, and
        its weights with ``weights``), or None; a cell of this bench whose network has changed since (a
        rung ``scaler scale`` has since rewritten under the same label) is said to be trained again."""
        found = self.store.find(training, need_test=True, need_weights=weights)
        labels = training.extra
        if found is None and self.store.find(training, need_test=True) is not None:
            self.log(f"bench {self.cfg.name!r}: {labels['label']} seed {labels['seed']} kept no weights: training "
                     f"it again to score its robustness")
        elif found is None and any(r.get("kind") == "bench" and {k: r["extra"].get(k) for k in labels} == labels
                                 for r in self.store.index().values()):
            self.log(f"bench {self.cfg.name!r}: {labels['label']} seed {labels['seed']} has changed since it was "
                     f"trained: training it again")
        return found

    def run(self, robustness: RobustnessScorer | None = None) -> dict:
        """Train every missing cell (in ``cfg.jobs`` processes, each kept as it is ready), then write and
        return the table; with ``robustness``, every model's first-seed run (trained with its weights)
        is scored against the reference's and the table gains its mCE and mFR."""
        from scaler.search.objective import macs_of

        models = entries(self.cfg, self.results, self.log)
        if not models:
            raise ScalerError("nothing to bench: no zoo models and no found family")
        labels = [e.label for e in models]
        if self.cfg.reference is not None and self.cfg.reference not in labels:
            raise ScalerError(f"--reference {self.cfg.reference!r} is not one of the benched models ({', '.join(labels)})")
        from scaler.data import native_resolution

        native = native_resolution(self.data_cfg)  # a bad data set, cut or base resolution fails here, before
        check_base_resolution(self.data_cfg.resolution, native, self.data_cfg.name)  # anything is written
        data = DataCache(self.data_cfg, keep=None)
        self.pin()
        # seed by seed: an interrupted bench has every model at one seed before any model gets the next
        pairs = [(e, s) for s in range(self.cfg.seeds) for e in models]
        planned = {(e.label, s): self.training(e, s, data) for e, s in pairs}
        weights = robustness is not None
        known = {cell: self.known(training, weights) for cell, training in planned.items()}
        missing = [(e, s) for e, s in pairs if known[(e.label, s)] is None]
        if len(missing) < len(pairs):
            self.log(f"bench {self.cfg.name!r}: {len(pairs) - len(missing)} of {len(pairs)} cells done earlier")
        # within a seed the costliest cells first (MACs as the cost), so the bench does not end on its
        # largest rung training alone while the other processes idle
        missing.sort(key=lambda cell: (cell[1], -macs_of(planned[(cell[0].label, cell[1])].spec, data.base)))
        runs = self.store.train_all([planned[(e.label, s)] for e, s in missing], data.load, self.jobs,
                                    need_test=True, save_weights=weights)
        for n, ((entry, seed), (record, _)) in enumerate(zip(missing, runs, strict=True), 1):
            known[(entry.label, seed)] = record
            acc = record["val_acc"]
            self.log(f"bench {n}/{len(missing)} {entry.label} seed {seed}: "
                     + (f"val acc {acc:.4f}" if acc is not None else "diverged"))
        cells: dict[str, list[dict]] = {}
        for entry, seed in pairs:
            cells.setdefault(entry.label, []).append(known[(entry.label, seed)])  # type: ignore[arg-type]
        rows = table(models, cells, self.cfg.reference, native)
        reference = next((r["label"] for r in rows if r["is_reference"]), None)
        summary = {"name": self.cfg.name, "settings": self.settings(), "seeds": self.cfg.seeds,
                   "native_resolution": native, "reference": reference, "rows": rows}
        if robustness is not None:
            scored = {e.label: Path(known[(e.label, 0)]["path"]) for e in models  # type: ignore[index]
                      if known[(e.label, 0)]["status"] == "ok"}  # type: ignore[index]
            if summary["reference"] not in scored:
                self.log(f"bench {self.cfg.name!r}: the reference diverged at seed 0: no mCE or mFR against it")
            cache = self.folder / ROBUSTNESS / ROBUSTNESS_CACHE
            scores = robustness.score(scored, summary["reference"], cache) if summary["reference"] in scored else {}
            for row in rows:
                row.update(scores.get(row["label"], {"mce": None, "mfr": None}))
            summary["robustness"] = {"scored": "every model's seed-0 run", **robustness.settings}
        if self.data_cfg.name.split(":")[0] == FASHION_MNIST:
            summary["published"] = {"note": PUBLISHED_NOTE, "rows": beside_published(rows)}
        if self.cfg.check_budget:
            summary["check_budget"] = self.check_budget(next(e for e in models if e.label == reference), data)
        write_text(self.folder / BENCH.file, BENCH.to_csv(rows))
        write_json(self.folder / BENCH_SUMMARY, summary)
        summary["folder"] = str(self.folder)
        return summary


    def check_budget(self, entry: Entry, data: DataCache) -> dict:
        """``entry``'s cell of seed 0 and the same at twice the epochs, through the store: converged?"""
        cell = self.training(entry, 0, data)
        check = convergence(self.store, dataclasses.replace(cell, extra={"bench": self.cfg.name, "seed": 0,
                                                                         "check_budget": entry.label}), data.load,
                            self.log)
        self.log(format_convergence(check, f"{entry.label} (seed 0)"))
        return {"label": entry.label, "seed": 0, **check}


def table(models: Sequence[Entry], cells: dict[str, list[dict]], reference: str | None,
          native: int | None = None) -> list[dict]:
    """One row per model: accuracies over seeds, counts, latency, front membership, against the reference,
    and whether it trained above the data's ``native`` resolution (upsampled)."""
    ref = reference or next((e.label for e in models if e.series == FAMILY_SERIES), models[0].label)
    ref_acc = [c["val_acc"] or 0.0 for c in cells[ref]]
    rows = []
    for entry in models:
        got = cells[entry.label]
        val = spread([c["val_acc"] or 0.0 for c in got])
        test = spread([c["test_acc"] or 0.0 for c in got])
        versus = compare([c["val_acc"] or 0.0 for c in got], ref_acc) if entry.label != ref else None
        rows.append({"label": entry.label, "series": entry.series, "phi": entry.phi, "seeds": len(got),
                     "val_acc": val.mean, "val_std": val.std, "test_acc": test.mean, "test_std": test.std,
                     "params": got[0]["params"], "macs": got[0]["macs"], "resolution": got[0]["resolution"],
                     "upsampled": upsampled(got[0]["resolution"], native),
                     "latency_ms": statistics.median(c["latency_ms"] or 0.0 for c in got),
                     "diverged": sum(c["status"] != "ok" for c in got), "is_reference": entry.label == ref,
                     "vs_reference": versus.diff if versus else None,
                     "vs_low": versus.low if versus else None, "vs_high": versus.high if versus else None,
                     "verdict": versus.verdict if versus else "reference"})
    for row, front in zip(rows, pareto(rows), strict=True):
        row["pareto"] = front
    return rows


def beside_published(rows: Sequence[dict]) -> list[dict]:
    """The bench's models (test accuracy, params and MACs at its fidelity) among the published
    Fashion-MNIST results (``scaler.zoo.fashion_mnist_published``), best test accuracy first."""
    from scaler.zoo import fashion_mnist_published

    ours = [{"model": r["label"], "source": "this bench", "test_acc": r["test_acc"], "params": r["params"],
             "macs": r["macs"], "preprocessing": None} for r in rows]
    theirs = [{"model": p.model, "source": p.source, "test_acc": p.test_acc, "params": p.params, "macs": None,
               "preprocessing": p.preprocessing} for p in fashion_mnist_published()]
    return sorted([*ours, *theirs], key=lambda r: -(r["test_acc"] or 0.0))


def read_bench(name: str, results: str | Path | None = None) -> dict:
    """The summary a bench folder's last run wrote (``results/bench/<name>/summary.json``)."""
    path = results_root(results) / BENCH_DIR / name / BENCH_SUMMARY
    if not path.is_file():
        raise ScalerError(f"no bench {name!r}: {path} does not exist (run scaler bench --name {name})")
    summary, problem = read_json(path)
    if problem:
        raise ScalerError(problem)
    return summary  # type: ignore[return-value]


def proxy_vs_final(proxy: dict, final: dict, accuracy: str = "val_acc") -> dict:
    """Does the proxy bench rank and judge the models as the bench trained to the end does?

    ``proxy`` and ``final`` are two bench summaries of the same models against the same reference; the
    models both hold are compared: the Spearman and Kendall rank correlation of their mean ``accuracy``
    (None where one side has no spread to rank), and every model whose verdict against the reference
    (better, worse, not distinguishable) differs between the two. A verdict of one seed is no verdict
    (None): such a model is ``undecided``, neither flipped nor kept, and only the ranks speak for it.
    """
    if proxy["reference"] != final["reference"]:
        raise ScalerError(f"the benches have other references ({proxy['reference']} and {final['reference']}): "
                          f"their verdicts do not compare; run them with the same --reference")
    ours, theirs = ({r["label"]: r for r in s["rows"]} for s in (proxy, final))
    common = [label for label in ours if label in theirs]
    if len(common) < 2:
        raise ScalerError(f"the benches {proxy['name']!r} and {final['name']!r} share {len(common)} model(s): "
                          f"rank correlation needs two or more")
    a = [ours[label][accuracy] or 0.0 for label in common]
    b = [theirs[label][accuracy] or 0.0 for label in common]

    def defined(value: float) -> float | None:
        return None if math.isnan(value) else value

    def verdict(row: dict) -> str | None:
        """The row's verdict, None where too few seeds gave it (``stats.compare`` then always says "not
        distinguishable")."""
        return row["verdict"] if row["verdict"] == "reference" or row["seeds"] >= MIN_PAIRS_FOR_VERDICT else None

    models = []
    for label in common:
        before, after = verdict(ours[label]), verdict(theirs[label])
        models.append({"label": label, "proxy_acc": ours[label][accuracy], "final_acc": theirs[label][accuracy],
                       "proxy_verdict": before, "final_verdict": after,
                       "flipped": None if before is None or after is None else before != after})
    with warnings.catch_warnings():  # a side without spread: NaN, said as None
        warnings.simplefilter("ignore", RuntimeWarning)
        rho, tau = spearman(a, b), kendall(a, b)
    return {"proxy": proxy["name"], "final": final["name"], "reference": proxy["reference"], "accuracy": accuracy,
            "spearman": defined(rho), "kendall": defined(tau), "models": models,
            "flips": [m["label"] for m in models if m["flipped"]],
            "undecided": [m["label"] for m in models if m["flipped"] is None],
            "only_proxy": [label for label in ours if label not in theirs],
            "only_final": [label for label in theirs if label not in ours]}


def format_proxy_vs_final(comparison: dict) -> str:
    """The comparison as ``benchmarks/proxy_vs_final.py`` prints it: the models, then the correlations and flips."""
    from scaler.report import fixed, format_table, plain

    rows = [{**m, "mark": "flips" if m["flipped"] else "",
             **{side: m[side] or "(one seed)" for side in ("proxy_verdict", "final_verdict")}}
            for m in comparison["models"]]
    text = format_table(rows, [("label", "model", plain), ("proxy_acc", f"{comparison['proxy']} acc", fixed(4)),
                               ("final_acc", f"{comparison['final']} acc", fixed(4)),
                               ("proxy_verdict", f"{comparison['proxy']} verdict", plain),
                               ("final_verdict", f"{comparison['final']} verdict", plain), ("mark", "", plain)])

    def signed(value: float | None) -> str:
        return "undefined (no spread)" if value is None else f"{value:+.3f}"

    lines = [f"{comparison['proxy']} against {comparison['final']}: {len(rows)} models, verdicts against "
             f"{comparison['reference']}, mean {comparison['accuracy']}", text,
             f"rank correlation of the mean accuracy: Spearman {signed(comparison['spearman'])}, "
             f"Kendall {signed(comparison['kendall'])}",
             f"verdicts that flip: {', '.join(comparison['flips']) or 'none'}"]
    if comparison["undecided"]:
        lines.append(f"no verdict to compare (one seed): {', '.join(comparison['undecided'])}")
    for side in ("proxy", "final"):
        if comparison[f"only_{side}"]:
            lines.append(f"only in {comparison[side]} (left out): {', '.join(comparison[f'only_{side}'])}")
    return "\n".join(lines)


def format_bench(summary: dict) -> str:
    """The table ``scaler bench`` prints: the front marked with *, each model against the reference."""
    from scaler.report import fixed, format_comparison, format_spread, format_table, pixels, plain, si, upsampled_note

    def acc(row: dict, key: str) -> str:
        return format_spread(row[key], row[key.replace("acc", "std")])

    def versus(row: dict) -> str:
        if row["is_reference"]:
            return "reference"
        return format_comparison(row["vs_reference"], row["vs_low"], row["vs_high"], row["verdict"])

    rows = [{**r, "mark": "*" if r["pareto"] else "", "val": acc(r, "val_acc"), "test": acc(r, "test_acc"),
             "vs": versus(r), "px": pixels(r["resolution"], r.get("upsampled"))}
            for r in sorted(summary["rows"], key=lambda r: r["macs"])]
    columns = [("label", "model", plain), ("mark", "front", plain), ("series", "series", plain),
               ("px", "px", plain), ("params", "params", si), ("macs", "MACs", si),
               ("latency_ms", "ms/img", fixed(2)), ("val", "val acc", plain),
               ("test", "test acc", plain), ("vs", f"vs {summary['reference']} (95% CI)", plain)]
    if summary.get("robustness"):
        columns += [("mce", "mCE", fixed(3)), ("mfr", "mFR", fixed(3))]
    text = format_table(rows, columns)
    notes = [upsampled_note(summary.get("native_resolution"))] if any(r.get("upsampled") for r in rows) else []
    if summary.get("check_budget"):
        check = summary["check_budget"]
        notes.append(format_convergence(check, f"{check['label']} (seed {check['seed']})"))
    out = "\n".join([f"bench {summary['name']}: {summary['seeds']} seed(s) each, width x{summary['settings']['width']}, "
           f"strides {summary['settings']['strides']}; * = on the accuracy/MACs front", text, *notes])
    if summary.get("robustness"):
        r = summary["robustness"]
        out += (f"\nmCE, mFR: {r['scored']} against {summary['reference']}'s under the corruptions and sequences its "
                f"training did not apply (1.000 = as robust as the reference, lower is more robust); "
                f"{len(r['corruptions'])} corruption(s) x {len(r['severities'])} severities on up to {r['images']} "
                f"test images")
    if summary.get("published"):
        published = format_table(
            [{**r, "mark": "" if r["preprocessing"] is not None else "<-"} for r in summary["published"]["rows"]],
            [("model", "model", plain), ("mark", "bench", plain), ("test_acc", "test acc", fixed(4)),
             ("params", "params", si), ("macs", "MACs", si), ("preprocessing", "preprocessing", plain)])
        out += f"\n\nbeside published Fashion-MNIST results (<- = this bench): {summary['published']['note']}\n{published}"
    return out
