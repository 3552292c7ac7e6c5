"""A LangSmith dataset, by name, as a task source: ``load_dataset("langsmith:NAME")``.

The examples are read with the ``langsmith`` client (installed with langchain-core),
which takes its endpoint and key from the environment (``LANGSMITH_API_KEY``, ...).
Each example becomes a record ``{"id", "inputs", "outputs"}``, which the dataset
loader reads as it reads a LangSmith export: the question and the answer lifted
from ``inputs`` and ``outputs`` by field name, or as their only value.
"""

from __future__ import annotations

from typing import Any

from orchestrator.errors import MissingIntegrationError
from search.errors import DatasetError

__all__ = ["LANGSMITH_PREFIX", "langsmith_records"]

LANGSMITH_PREFIX = "langsmith:"


def langsmith_records(
    name: str, *, split: str | None = None, client: Any = None
) -> list[dict[str, Any]]:
    """The examples of the LangSmith dataset ``name`` (its ``split`` only, if given).

    Raises:
        MissingIntegrationError: The ``langsmith`` package is missing.
        DatasetError: The dataset has no examples (or no such split).
    """
    if client is None:
        try:
            from langsmith import Client
        except ImportError as exc:  # pragma: no cover - a dependency of langchain-core
            raise MissingIntegrationError(
                "reading a LangSmith dataset needs the langsmith package: pip install langsmith"
            ) from exc
        client = Client()
    examples = client.list_examples(dataset_name=name, splits=[split] if split else None)
    records = [
        {"id": str(example.id), "inputs": example.inputs, "outputs": example.outputs or {}}
        for example in examples
    ]
    if not records:
        where = f" (split {split!r})" if split else ""
        raise DatasetError(f"the LangSmith dataset has no examples{where}", source=name)
    return records
