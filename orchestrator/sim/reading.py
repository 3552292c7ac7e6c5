"""How the simulated model reads a prompt: rolegraph's role templates, or a plain question.

The simulator recognises the role from the ``Task:`` line of rolegraph's
templates and reads the sections that role receives (question, plan, sub-task,
candidates, critique). It keeps the content only: agent names that a template
lists next to peers' answers are dropped, so that renaming agents, workflows or
topologies never changes what the simulator sees.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

__all__ = ["Prompt", "read_prompt", "content_key"]

_TASKS = {
    "solve": "solve",
    "plan": "plan",
    "verify": "verify",
    "revise": "revise",
    "choose": "choose",
    "combine": "combine",
}
_TASK_LINE = re.compile(r"^\s*Task:\s*(\w+)", re.MULTILINE)
_BLOCK = re.compile(
    r"^###\s*(.+?)(?:\s*\(confidence ([0-9.]+)\))?\s*\n```\w*\n(.*?)\n```", re.M | re.S
)
_FENCE = re.compile(r"^```\w*\n(.*?)\n```", re.S)
_PEER = re.compile(r"^-\s*([^:]+):\s*(.+?)(?:\s*\(confidence ([0-9.]+)\))?\s*$")
_NUMBERED = re.compile(r"^(\d+)\.\s*(.+?)\s*$")


@dataclass
class Prompt:
    """What the simulator understood of a prompt."""

    task: str
    question: str
    plan: str | None = None
    focus: str | None = None
    peers: list[tuple[str, str, float | None]] = field(default_factory=list)
    candidate: str | None = None
    critique: str | None = None
    feedback: str | None = None
    options: list[str] = field(default_factory=list)
    tool_result: str | None = None
    instructions: str = ""  # the closing "Respond with ..." and any re-ask after it


def _sections(text: str) -> dict[str, str]:
    sections: dict[str, list[str]] = {"": []}
    current = ""
    for line in text.splitlines():
        if line.startswith("## ") and not line.startswith("### "):
            current = line[3:].strip().lower()
            sections[current] = []
        elif line.startswith("Respond with "):
            # The templates' closing instruction belongs to no section.
            current = "respond"
            sections[current] = [line]
        else:
            sections[current].append(line)
    return {key: "\n".join(lines).strip() for key, lines in sections.items()}


def read_prompt(human: str, tool_result: str | None = None) -> Prompt:
    """Parse the last user message of a role prompt."""
    match = _TASK_LINE.search(human)
    task = _TASKS.get(match.group(1).lower(), "solve") if match else "solve"
    sections = _sections(human)
    question = sections.get("question") or sections.get("problem") or sections[""]
    prompt = Prompt(task=task, question=question.strip(), tool_result=tool_result)
    prompt.instructions = sections.get("respond", "")
    prompt.plan = sections.get("plan") or None
    prompt.focus = sections.get("your sub-task") or None
    candidate = sections.get("candidate answer") or sections.get("candidate program") or ""
    fenced = _FENCE.match(candidate.strip())
    prompt.candidate = (fenced[1] if fenced else candidate.split("\n\n", 1)[0].strip()) or None
    prompt.critique = sections.get("critique") or sections.get("review") or None
    prompt.feedback = sections.get("feedback on the previous attempt") or None
    for key in ("answers from other agents", "workers' answers"):
        for line in sections.get(key, "").splitlines():
            peer = _PEER.match(line.strip())
            if peer:
                conf = float(peer.group(3)) if peer.group(3) else None
                prompt.peers.append((peer.group(1).strip(), peer.group(2).strip(), conf))
    for key in ("programs from other agents", "workers' programs"):
        for block in _BLOCK.finditer(sections.get(key, "")):
            conf = float(block[2]) if block[2] else None
            prompt.peers.append((block[1].strip(), block[3], conf))
    for line in sections.get("candidates", "").splitlines():
        numbered = _NUMBERED.match(line.strip())
        if numbered:
            prompt.options.append(numbered.group(2))
    prompt.options += [block[3] for block in _BLOCK.finditer(sections.get("programs", ""))]
    return prompt


def content_key(prompt: Prompt, system: str = "") -> str:
    """A digest of what a prompt says, without the agent names it lists.

    Two prompts with the same content get the same key, whatever the agents,
    workflow or topology that wrote them are called.
    """
    parts = [
        prompt.task,
        " ".join(prompt.question.split()),
        prompt.plan or "",
        prompt.focus or "",
        repr([(answer, conf) for _, answer, conf in prompt.peers]),
        prompt.candidate or "",
        prompt.critique or "",
        prompt.feedback or "",
        repr(prompt.options),
        prompt.tool_result or "",
        " ".join(prompt.instructions.split()),
        " ".join(system.split()),
    ]
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()
