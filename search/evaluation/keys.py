"""What decides an evaluation's result, as the store keys it."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping, Sequence

from langchain_core.language_models import BaseChatModel

from orchestrator.codehash import code_fingerprint
from orchestrator.models import model_fingerprint
from search.evaluation.datasets import Task
from search.evaluation.metrics import Metric
from search.evaluation.target import Evaluable, as_target
from search.store import EvalKey

__all__ = ["EvalKeys"]


class EvalKeys:
    """The store keys of one evaluator's results, and the seeds each candidate runs with.

    A key is (target hash, dataset, task, seed, settings): ``settings`` digests
    :meth:`config_digest` with the task's text, so an edited task, prompt,
    model or metric is evaluated afresh.
    """

    def __init__(
        self,
        *,
        dataset: str,
        metric: Metric,
        models: Mapping[str, BaseChatModel],
        repetitions: int,
        seed: int,
    ) -> None:
        """Keys for results on ``dataset`` scored by ``metric``."""
        self.dataset = dataset
        self.metric = metric
        # The metric enters every key by its name and its code, so an edited metric
        # re-scores (from the cached model replies) instead of serving old scores.
        self.metric_key = f"{metric.name}#{code_fingerprint(metric)}"
        self.models = models
        self.repetitions = repetitions
        self.seed = seed
        self._configs: dict[str, str] = {}
        self._lock = threading.Lock()

    def config_digest(self, candidate: Evaluable) -> str:
        """Digest of what, besides the target and the task, changes a result.

        It covers the target's identity (for a spec: the fingerprints of the
        roles it uses, their prompt templates and output contracts), each
        model's fingerprint (:func:`orchestrator.models.model_fingerprint`: its
        settings, and what its provider says identifies it, e.g. a simulated
        profile), and the metric's name and code
        (:func:`orchestrator.codehash.code_fingerprint`). Retries, timeouts and concurrency are
        left out: they change whether a run fails, not what a successful run answers.
        """
        cached = self._configs.get(candidate.hash)
        if cached is not None:
            return cached
        target = as_target(candidate)
        payload = {
            "target": target.identity(),
            "models": {
                ref: model_fingerprint(self.models.get(ref, ref)) for ref in sorted(target.models)
            },
            "metric": self.metric_key,
        }
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
        with self._lock:
            self._configs[target.hash] = digest
        return digest

    def key(self, candidate: Evaluable, task: Task, seed: int = 0) -> EvalKey:
        """The store key of ``candidate`` on ``task`` with ``seed``."""
        config = self.config_digest(candidate)
        settings = hashlib.sha256(f"{config}:{task.digest}".encode()).hexdigest()[:16]
        return EvalKey(candidate.hash, self.dataset, task.id, seed, settings)

    def seeds_for(self, candidate: Evaluable, seeds: Sequence[int] | None = None) -> list[int]:
        """The seeds ``candidate`` is evaluated with.

        ``seeds`` as given; else one per repetition when its calls sample
        (temperature > 0); else just the first.
        """
        if seeds is not None:
            return list(dict.fromkeys(int(s) for s in seeds))
        count = self.repetitions if as_target(candidate).sampled else 1
        return [self.seed + i for i in range(count)]
