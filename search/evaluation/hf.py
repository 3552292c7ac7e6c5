"""HuggingFace ``datasets`` as a task source (the ``hf`` extra).

:func:`~search.evaluation.datasets.load_dataset` accepts a ``datasets.Dataset``, a
``DatasetDict`` with ``split=``, or ``"hf:PATH"``, which it loads with
``datasets.load_dataset(PATH, split=split, **hf_options)``: a hub name
(``"hf:openai/gsm8k"`` with ``hf_options={"name": "main"}``) or a packaged
builder for local files (``"hf:json"``, ``"hf:csv"``, ``"hf:parquet"`` with
``hf_options={"data_files": "data.parquet"}``). Offline, set
``HF_DATASETS_OFFLINE=1``: hub datasets then come from the local cache only.

The ``datasets`` package is imported only when one of these is used;
without it the error says ``pip install 'rolegraph[hf]'``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from orchestrator.errors import MissingIntegrationError
from search.errors import DatasetError

__all__ = ["HF_PREFIX", "INSTALL_HINT", "is_hf_source", "hf_records", "import_datasets"]

HF_PREFIX = "hf:"
INSTALL_HINT = "pip install 'rolegraph[hf]'"
_TYPES = {"Dataset", "DatasetDict", "IterableDataset", "IterableDatasetDict"}
_DICTS = {"DatasetDict", "IterableDatasetDict"}
_FILE_BUILDERS = {"json", "csv", "parquet", "text", "arrow", "pandas"}


def import_datasets() -> ModuleType:
    """The ``datasets`` package.

    Raises:
        MissingIntegrationError: It is not installed; the message says what to install.
    """
    try:
        import datasets
    except ImportError:
        raise MissingIntegrationError(
            f"loading a HuggingFace dataset needs the 'datasets' package: {INSTALL_HINT}"
        ) from None
    return datasets


def is_hf_source(source: object) -> bool:
    """Whether ``source`` is ``"hf:..."`` or a ``datasets`` object (without importing it)."""
    if isinstance(source, str):
        return source.startswith(HF_PREFIX)
    cls = type(source)
    return cls.__module__.split(".", 1)[0] == "datasets" and cls.__name__ in _TYPES


def _error(message: str, source: str) -> Exception:
    return DatasetError(message, source=source)


def _split_of(data: Any, split: str | None, label: str) -> Any:
    splits = list(data.keys())
    if split is None:
        if len(splits) == 1:
            return data[splits[0]]
        raise _error(
            f"{label} has splits {', '.join(map(repr, splits))}: pass split='<name>'", label
        )
    if split not in data:
        raise _error(
            f"{label} has no split {split!r}; its splits are {', '.join(map(repr, splits))}",
            label,
        )
    return data[split]


def _load(path: str, split: str | None, options: Mapping[str, Any]) -> Any:
    datasets = import_datasets()
    label = f"{HF_PREFIX}{path}"
    try:
        return datasets.load_dataset(path, split=split, **options)
    except (FileNotFoundError, ConnectionError, ValueError) as exc:
        raise _error(
            f"{label}: datasets.load_dataset failed ({type(exc).__name__}: {exc}). Check the "
            "path, split and hf_options; without a network, only datasets already in the "
            "HuggingFace cache or local files (hf:json, hf:parquet with data_files) load",
            label,
        ) from exc


def _name(base: str | None, *parts: str | None) -> str:
    return "-".join(p for p in (base or "hf", *parts) if p)


def _rows(data: Iterable[Any]) -> Iterator[Mapping[str, Any]]:
    yield from data


def hf_records(
    source: Any, *, split: str | None = None, options: Mapping[str, Any] | None = None
) -> tuple[Iterable[Mapping[str, Any]], str, str]:
    """Records of a HuggingFace source, its default dataset name, and a label for errors.

    Args:
        source: ``"hf:PATH"``, a ``datasets.Dataset`` or a ``DatasetDict``.
        split: Which split (needed for a dict with more than one).
        options: More arguments for ``datasets.load_dataset`` (``"hf:"`` only).

    Raises:
        MissingIntegrationError: ``datasets`` is not installed.
        DatasetError: The split is missing or unknown, or loading failed.
    """
    options = dict(options or {})
    if isinstance(source, str):
        path = source.removeprefix(HF_PREFIX).strip()
        if not path:
            raise _error("'hf:' needs a dataset path, e.g. 'hf:openai/gsm8k' or 'hf:json'", source)
        data = _load(path, split, options)
        label = f"{HF_PREFIX}{path}"
        if type(data).__name__ in _DICTS:
            data = _split_of(data, split, label)
        base = path.rstrip("/").rsplit("/", 1)[-1]
        files = options.get("data_files")
        if path in _FILE_BUILDERS and isinstance(files, str | Path):
            base = Path(files).stem
        config = options.get("name")
        split_name = split or (str(data.split) if getattr(data, "split", None) else None)
        return _rows(data), _name(base, config, split_name), f"{label}[{split_name or ''}]"
    if options:
        raise TypeError("hf_options apply to 'hf:PATH' sources only, not to a loaded dataset")
    label = "HuggingFace dataset"
    if type(source).__name__ in _DICTS:
        source = _split_of(source, split, label)
    info = getattr(source, "info", None)
    title = getattr(info, "dataset_name", None) or getattr(info, "builder_name", None)
    own_split = getattr(source, "split", None)
    shown = str(own_split) if own_split else split
    return _rows(source), _name(title, shown), f"{label} {_name(title, shown)}"
