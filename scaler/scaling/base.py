"""The model being scaled (``Base``): the latest search's best model, a zoo model or a DSL file, at its
nominal size, with the search's proxy width and resolution when it came from a search."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

from scaler.dsl import Space, Spec, parse_text
from scaler.errors import ScalerError
from scaler.results import schema
from scaler.scaling.config import PAPER_BASE, drop_float_noise
from scaler.strides import copy_strides


@dataclass(frozen=True)
class Base:
    """The Spec being scaled at its nominal size, with where it came from."""

    spec: Spec
    key: str
    source: str
    how: str
    path: str | None = None
    search_width: float | None = None
    search_resolution: int | None = None


def base_key(name: str) -> str:
    """A folder-safe name for a base (``results/scale/<key>/``)."""
    return re.sub(r"[^a-z0-9_.-]+", "-", name.lower()).strip("-") or "base"


def resolve_base(base: str | None, results: str | Path | None = None, storage: str | None = None) -> Base:
    """``None`` (latest search, else efficientnet-b0), ``latest``, a zoo name or a DSL file -> Base.

    A search's ``best.arch`` holds the model at search fidelity (proxy width, search resolution); with the
    search's settings from the storage it is returned at its nominal size (the space's width and
    resolution), and the search's proxy width and resolution become the default fidelity.
    """
    from scaler.search import latest_best
    from scaler.zoo import get_model, load_target

    if base is None or base == "latest":
        try:
            path = latest_best(results)
        except ScalerError:
            if base == "latest":
                raise
            spec = get_model(PAPER_BASE)
            assert isinstance(spec, Spec)
            return Base(spec, PAPER_BASE, "default", f"{PAPER_BASE} (default: no search result yet)")
        how = "the latest search's best model" + (" (default)" if base is None else "")
        return _from_search(path, storage, results, "latest", how)
    model = load_target(base)
    if isinstance(model, Space):
        params = list(model.params())
        raise ScalerError(f"base {base!r} is a search space ({len(params)} open choices), not a fixed model: "
                          f"search it first ('scaler search --space {base}') or pass a model")
    assert isinstance(model, Spec)
    path = Path(base)
    if path.name == schema.SEARCH_BEST and path.exists():
        return _from_search(path, storage, results, "file", f"search result {path}")
    if path.suffix == ".arch" or path.exists():
        return Base(model, base_key(model.name), "file", f"{model.name} from {path}", path=str(path))
    return Base(model, base_key(model.name), "zoo", f"zoo model {model.name}")


def _from_search(path: Path, storage: str | None, results: str | Path | None, source: str, how: str) -> Base:
    """A search's ``best.arch`` at its nominal size, the search's width and resolution as its fidelity."""
    from scaler.zoo import load_spec

    spec = load_spec(str(path))
    settings = search_settings(path.parent.name, storage, results)
    if settings is None:
        return Base(spec, base_key(spec.name), source,
                    f"{how}: {spec.name} as saved (search settings not found in the storage)", str(path),
                    search_width=1.0, search_resolution=spec.resolution)
    width = float(settings.get("width", 1.0))
    try:
        space = next(iter(parse_text(settings["space"]).values()))
        nominal_width, nominal_res = space.width, space.resolution
        if settings.get("strides") in ("adapt", "adapt-each"):  # the search trained (and saved) adapted strides
            spec = copy_strides(spec, space)
    except (ScalerError, KeyError, StopIteration):
        nominal_width, nominal_res = spec.width / width, spec.resolution
    if not isinstance(nominal_width, (int, float)) or abs(nominal_width * width - spec.width) > 1e-9:
        nominal_width = drop_float_noise(spec.width / width)
    if not isinstance(nominal_res, int):
        nominal_res = spec.resolution
    nominal = dataclasses.replace(spec, width=nominal_width, resolution=nominal_res)
    return Base(nominal, base_key(spec.name), source, f"{how}: {spec.name} ({path})", str(path),
                search_width=width, search_resolution=settings.get("resolution"))


def search_settings(study: str, storage: str | None, results: str | Path | None) -> dict | None:
    """The settings a search study recorded (proxy width, resolution, space text), or None."""
    from scaler.results import default_storage
    from scaler.study.storage import open_storage

    url = storage or default_storage(results)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        return None
    try:
        rdb = open_storage(url, heartbeat=None)
        return rdb.get_study_user_attrs(rdb.get_study_id_from_name(study)).get("settings")
    except Exception:  # a missing study or an unreadable storage: no settings
        return None
