"""Monte Carlo tree search over workflow edits, in the style of AFlow.

Nodes are workflows; edges are named edits (:mod:`search.strategies.mcts.edits`). Each
iteration selects a node (UCT, or AFlow's soft mixed probability over the best
nodes), expands it with one untried edit (chosen by a rule or a chat model,
:mod:`search.strategies.mcts.proposers`), evaluates the new workflow through the shared
evaluator, cheaply first, and backs its objective value up to every ancestor.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import Field

from orchestrator import WorkflowSpec
from search.evaluation.stats import signed_rank_p, wilson_interval
from search.ranking import best, ranked
from search.space import Candidate, SearchSpace, topology_space
from search.store import EvalRecord
from search.strategies.base import (
    Capabilities,
    Handover,
    Outcome,
    Proposal,
    SearchContext,
    SearchStrategy,
    StrategyOptions,
)
from search.strategies.mcts.edits import (
    DEFAULT_OPERATORS,
    Edit,
    EditOperator,
    Experience,
    fill_params,
    get_operator,
    median_model,
    neighbours,
)
from search.strategies.mcts.proposers import (
    CreditProposer,
    EditRequest,
    LLMProposer,
    Proposer,
    RuleProposer,
)
from search.strategies.mcts.tree import Node, TreeNode, aflow_probabilities, uct_score
from search.strategies.plan import PlanRequest, StagePlan
from topologies import SpaceError

__all__ = ["MCTSStrategy", "MCTSOptions", "INFEASIBLE", "seed_candidate"]

INFEASIBLE = -1.0
"""Reward backed up for a workflow over the cost ceiling (its value is ``-inf``)."""

_PREFIX = "mcts/"
_META = f"{_PREFIX}meta"
_NODE = f"{_PREFIX}node/"
_STATE_VERSION = 1

StartPoint = Candidate | WorkflowSpec | Mapping[str, Any]


class MCTSOptions(StrategyOptions):
    """:class:`MCTSStrategy`'s settings (see its arguments)."""

    iterations: int = Field(default=30, description="New workflows to evaluate.")
    selection: Literal["uct", "aflow"] = Field(default="uct", description="Selection rule.")
    exploration: float = Field(default=0.3, description="UCT's exploration constant.")
    backup: Literal["mean", "max"] = Field(default="mean", description="UCT's child value.")
    widening: float | None = Field(default=None, description="Progressive widening factor.")
    widening_power: float = Field(default=0.5, description="Progressive widening exponent.")
    top_k: int = Field(default=3, description="AFlow: best nodes a parent is drawn from.")
    alpha: float = Field(default=0.2, description="AFlow: softmax sharpness.")
    lam: float = Field(default=0.3, description="AFlow: uniform share.")
    # Recorded by describe() through the proposer's own settings and the operators' names.
    proposer: Any = Field(default="random", exclude=True, description="The edit proposer.")
    operators: tuple[Any, ...] | None = Field(
        default=None, exclude=True, description="Edit operators; None: every built-in one."
    )
    start: Any = Field(default=None, exclude=True, description="Root workflow(s).")
    min_tasks: int = Field(default=10, description="Tasks before a workflow may be stopped.")
    prune: bool = Field(default=True, description="Stop clearly worse workflows early.")
    confidence: float = Field(default=0.95, description="Coverage of the stopping interval.")
    paired: bool = Field(default=True, description="Also stop on a paired test.")
    p_threshold: float = Field(default=0.1, description="The paired test's p-value.")
    persist: bool = Field(default=True, description="Save the tree in the store.")


class MCTSStrategy(SearchStrategy):
    """MCTS whose nodes are workflows and whose edges are named edit operators.

    Each iteration:

    1. **Selection.** ``"uct"`` descends from the root by UCB1 on each child's
       mean backed-up reward, stopping at the first node with an untried
       edit. With ``widening``, a node instead takes a new child only while
       it has fewer than ``widening * visits ** widening_power`` of them
       (progressive widening, for very large neighbourhoods).
       ``"aflow"`` draws a parent from the ``top_k`` best nodes and the
       roots with AFlow's ``lam/n + (1-lam) softmax(alpha (100 s_i - 100 s_max))``.
    2. **Expansion.** The proposer picks one untried edit of that node (a
       seeded random one by default; ``proposer="ordered"``, a
       :class:`~search.strategies.mcts.proposers.Proposer`, or a chat model / model reference
       for :class:`~search.strategies.mcts.proposers.LLMProposer`). An edit that leads to a
       workflow already in the tree (a transposition) is not evaluated
       again; it is recorded as a duplicate.
    3. **Evaluation.** The new workflow goes through the shared evaluator
       on the search tasks in the shared order, cheap first: once there is
       an incumbent it runs on the first ``min_tasks`` tasks and is
       completed only if it is not clearly worse than the incumbent (and it
       stops as soon as it is): clearly worse means the upper end of its
       confidence interval is below the incumbent's value, or (``paired``) a
       one-sided Wilcoxon signed-rank test on the tasks both have seen puts
       it below the incumbent with p < ``p_threshold``. Pairing removes the
       tasks' own difficulty from the comparison, so it decides far sooner. A
       workflow stopped early keeps its partial reward; the runner completes
       promising ones at the end.
    4. **Backpropagation.** Its reward, the objective's value, is added to it
       and every ancestor (visits + 1, value_sum + reward).

    Every edit tried from a node is kept in its experience record (before,
    after, improved or not) and never tried again from there; proposers see
    it. The tree is saved in the store under the search's name after every
    change, so running the search again with the same name resumes the same
    tree and re-evaluates nothing. The search starts from ``start``, else
    from the workflows a previous pipeline stage handed over, else from the
    cheapest sensible seed: ``single`` with the pool's median-price model.

    Args:
        iterations: New workflows to evaluate (earlier runs of the search count).
        selection: ``"uct"`` or ``"aflow"``.
        exploration: UCT's exploration constant.
        backup: The value UCT ranks a child by: the ``"mean"`` reward of its subtree
            (classic UCT) or its ``"max"`` (single-player search for the best
            workflow: a promising subtree is not dragged down by its bad edits).
        widening: Progressive widening factor; ``None`` expands every edit of a
            node before selecting among its children.
        widening_power: Progressive widening exponent.
        top_k: AFlow: best nodes the parent is drawn from (the roots are added).
        alpha: AFlow: softmax sharpness per percentage point.
        lam: AFlow: uniform share of the parent distribution.
        proposer: ``"random"``, ``"ordered"``, ``"credit"`` (edits that paid elsewhere
            in the tree first), a :class:`Proposer`, a chat model, or a
            ``"provider:model"`` reference.
        operators: Edit operators (names or objects); default every built-in one.
        start: Root workflow(s): candidates, specs, or ``{"topology": ..., **params}``.
        min_tasks: Tasks a new workflow gets before it may be stopped early.
        prune: Stop clearly worse workflows early (cheap-first evaluation).
        confidence: Coverage of the interval used to stop early.
        paired: Also stop early on a paired test against the incumbent.
        p_threshold: The paired test's p-value below which a workflow is stopped.
        persist: Save the tree in the store so the search can resume.

    Example:
        >>> search = create_search(space=space, dataset="bundled:arithmetic",
        ...                        strategy="mcts", iterations=12)  # doctest: +SKIP
        >>> print(search.strategy.render())  # doctest: +SKIP
    """

    name = "mcts"

    def __init__(
        self,
        *,
        iterations: int = 30,
        selection: Literal["uct", "aflow"] = "uct",
        exploration: float = 0.3,
        backup: Literal["mean", "max"] = "mean",
        widening: float | None = None,
        widening_power: float = 0.5,
        top_k: int = 3,
        alpha: float = 0.2,
        lam: float = 0.3,
        proposer: Proposer | BaseChatModel | str = "random",
        operators: Sequence[str | EditOperator] | None = None,
        start: StartPoint | Sequence[StartPoint] | None = None,
        min_tasks: int = 10,
        prune: bool = True,
        confidence: float = 0.95,
        paired: bool = True,
        p_threshold: float = 0.1,
        persist: bool = True,
    ) -> None:
        """Configure the search; the tree is built (or loaded) when it starts."""
        if backup not in ("mean", "max"):
            raise ValueError(f"backup must be 'mean' or 'max', got {backup!r}")
        if selection not in ("uct", "aflow"):
            raise ValueError(f"selection must be 'uct' or 'aflow', got {selection!r}")
        if iterations < 0 or top_k < 1 or min_tasks < 1:
            raise ValueError("need iterations >= 0, top_k >= 1 and min_tasks >= 1")
        if exploration < 0 or (widening is not None and widening <= 0):
            raise ValueError("need exploration >= 0 and widening > 0 (or None)")
        if not 0 <= widening_power <= 1:
            raise ValueError(f"widening_power must be in [0, 1], got {widening_power}")
        if not 0.0 < p_threshold < 1.0:
            raise ValueError(f"p_threshold must be in (0, 1), got {p_threshold}")
        if not 0.0 < confidence < 1.0:
            raise ValueError(f"confidence must be in (0, 1), got {confidence}")
        if not 0.0 <= lam <= 1.0:
            raise ValueError(f"lam must be in [0, 1], got {lam}")
        self.options: MCTSOptions = MCTSOptions(
            iterations=iterations,
            selection=selection,
            exploration=exploration,
            backup=backup,
            widening=widening,
            widening_power=widening_power,
            top_k=top_k,
            alpha=alpha,
            lam=lam,
            proposer=proposer,
            operators=None if operators is None else tuple(operators),
            start=start,
            min_tasks=min_tasks,
            prune=prune,
            confidence=confidence,
            paired=paired,
            p_threshold=p_threshold,
            persist=persist,
        )
        self.name = "aflow" if selection == "aflow" else "mcts"
        self.proposer = _proposer(proposer)
        self.operators = tuple(
            get_operator(op) if isinstance(op, str) else op
            for op in (operators if operators is not None else DEFAULT_OPERATORS)
        )
        if not self.operators:
            raise ValueError("give at least one edit operator")
        if start is None or isinstance(start, Candidate | WorkflowSpec | Mapping):
            self.start: tuple[StartPoint, ...] = () if start is None else (start,)
        else:
            self.start = tuple(start)
        self._nodes: dict[str, Node] = {}
        self._roots: list[str] = []

    # --- setup and persistence -----------------------------------------------------------

    def setup(self, context: SearchContext) -> None:
        """Load the saved tree of this search, or plant the roots."""
        super().setup(context)
        self.proposer.setup(context)
        self._nodes = {}
        self._roots = []
        self._expansions = 0
        # (task id, score, cost) of every record this run saw per workflow: for stopping it
        # early, and for paired tests against it once it is the incumbent.
        self._partial: dict[str, list[tuple[str, float, float]]] = {}
        self._retry: list[str] = []
        self._continue: list[str] = []
        self._dirty: set[str] = set()
        if self._load():
            return
        for candidate in self._initial_roots():
            if candidate.hash not in self._nodes:
                self._add(Node(candidate=candidate, index=len(self._nodes)))
                self._roots.append(candidate.hash)
        self._flush()

    def _initial_roots(self) -> list[Candidate]:
        if self.start:
            return [self._as_candidate(item) for item in self.start]
        if self.context.candidates:
            return list(self.context.candidates)
        return [seed_candidate(topology_space(self.context.space, strategy=self.name))]

    def _as_candidate(self, item: StartPoint) -> Candidate:
        if isinstance(item, Candidate):
            return item
        if isinstance(item, WorkflowSpec):
            topology = item.metadata.get("topology")
            params = item.metadata.get("params")
            if topology in self.context.space.topologies and isinstance(params, dict):
                try:
                    built = self.context.space.candidate(topology, params, origin="start")
                except SpaceError:
                    built = None
                if built is not None and built.hash == item.hash:
                    return built
            return Candidate(spec=item, origin="start")
        values = dict(item)
        topology = values.pop("topology", None)
        if topology is None:
            raise ValueError("a start dict needs a 'topology' key")
        return self.context.space.candidate(topology, values, origin="start")

    def _load(self) -> bool:
        store = self.context.store
        if store is None or not self.options.persist:
            return False
        saved = store.load_states(self.context.search_name, prefix=_PREFIX)
        meta = saved.pop(_META, None)
        if meta is None:
            return False
        nodes = sorted(
            (TreeNode.model_validate(value) for value in saved.values()), key=lambda n: n.index
        )
        for snapshot in nodes:
            node = Node.restore(snapshot)
            self._nodes[node.hash] = node
            if node.state == "pending":  # in flight when the last run stopped
                self._retry.append(node.hash)
        self._roots = [h for h in meta["roots"] if h in self._nodes]
        self._expansions = int(meta["expansions"])
        return True

    def _flush(self) -> None:
        store = self.context.store
        if store is None or not self.options.persist:
            self._dirty.clear()
            return
        items: dict[str, Any] = {
            f"{_NODE}{h}": self._nodes[h].snapshot() for h in sorted(self._dirty)
        }
        items[_META] = {
            "version": _STATE_VERSION,
            "roots": self._roots,
            "expansions": self._expansions,
            "settings": self.describe(),
        }
        store.save_states(self.context.search_name, items)
        self._dirty.clear()

    def _add(self, node: Node) -> None:
        self._nodes[node.hash] = node
        self._dirty.add(node.hash)

    # --- the tree ------------------------------------------------------------------------

    def tree(self) -> list[TreeNode]:
        """Every node, in creation order."""
        return [node.snapshot() for node in self._nodes.values()]

    def node(self, workflow: str) -> TreeNode:
        """The node of a workflow hash.

        Raises:
            KeyError: The workflow is not in the tree.
        """
        return self._nodes[workflow].snapshot()

    @property
    def roots(self) -> list[str]:
        """Hashes of the root workflows."""
        return list(self._roots)

    @property
    def expansions(self) -> int:
        """New workflows added by expansion so far (earlier runs included)."""
        return self._expansions

    def render(self, *, max_depth: int | None = None) -> str:
        """The tree as indented text: edit, workflow, reward, visits and mean value."""
        lines: list[str] = []

        def show(h: str, indent: int) -> None:
            node = self._nodes[h]
            score = "pending" if node.score is None else f"{node.score:.4f}"
            flags = " pruned" if node.pruned else ""
            via = f"{node.edit} -> " if node.edit else ""
            lines.append(
                f"{'  ' * indent}{via}{node.candidate.label}  "
                f"[{score}{flags}; visits {node.visits}, mean {node.value:.4f}]"
            )
            if max_depth is None or indent < max_depth:
                for child in node.children:
                    show(child, indent + 1)

        for root in self._roots:
            show(root, 0)
        return "\n".join(lines)

    def _path(self, node: Node) -> list[Node]:
        """The node and its ancestors, up to its root."""
        path = [node]
        while path[-1].parent is not None:
            path.append(self._nodes[path[-1].parent])
        return path

    def backpropagate(self, workflow: str, reward: float) -> None:
        """Add one visit with ``reward`` to the node and every ancestor."""
        for node in self._path(self._nodes[workflow]):
            node.visits += 1
            node.value_sum += reward
            node.best = reward if node.best is None else max(node.best, reward)
            self._dirty.add(node.hash)

    def _edits(self, node: Node) -> list[Edit]:
        if node.edits is None:
            space = topology_space(self.context.space, strategy=self.name)
            node.edits = neighbours(node.candidate, space, self.operators)
        return node.edits

    def untried(self, workflow: str) -> list[Edit]:
        """Edits of the node never tried from it and leading to a workflow not in the tree.

        An edit that leads to a workflow already in the tree is recorded in
        the node's experience as a duplicate (with that workflow's reward) and
        dropped: it is never evaluated again.
        """
        node = self._nodes[workflow]
        options = []
        for edit in self._edits(node):
            if edit.key in node.experience:
                continue
            known = self._nodes.get(edit.candidate.hash)
            if known is not None:
                node.experience[edit.key] = Experience(
                    edit=edit.key,
                    operator=edit.operator,
                    child=known.hash,
                    before=node.score,
                    after=known.score,
                    outcome="duplicate",
                    note=f"leads to {known.candidate.label}, already in the tree",
                )
                self._dirty.add(node.hash)
                continue
            options.append(edit)
        return options

    # --- selection -----------------------------------------------------------------------

    def _open(self, h: str, memo: dict[str, bool]) -> bool:
        """Whether an evaluated node, or one below it, can still be expanded."""
        if h not in memo:
            node = self._nodes[h]
            memo[h] = node.state == "evaluated" and (
                bool(self.untried(h)) or any(self._open(c, memo) for c in node.children)
            )
        return memo[h]

    def _uct(self, node: Node, parent_visits: int) -> float:
        value = node.value if self.options.backup == "mean" or node.best is None else node.best
        return uct_score(value, node.visits, parent_visits, self.options.exploration)

    def select(self) -> str | None:
        """The node to expand next, or ``None`` if none can be now."""
        if self.options.selection == "aflow":
            return self._select_aflow()
        return self._select_uct()

    def _select_uct(self) -> str | None:
        memo: dict[str, bool] = {}
        roots = [self._nodes[h] for h in self._roots if self._open(h, memo)]
        if not roots:
            return None
        total = sum(root.visits for root in roots)
        node = max(roots, key=lambda root: self._uct(root, total))
        while True:
            options = self.untried(node.hash)
            kids = [self._nodes[c] for c in node.children if self._open(c, memo)]
            if options and (self._may_widen(node) or not kids):
                return node.hash
            if not kids:
                return None
            parent_visits = node.visits
            node = max(kids, key=lambda kid: self._uct(kid, parent_visits))

    def _may_widen(self, node: Node) -> bool:
        """Whether the node may take another child before its children are selected."""
        if self.options.widening is None:
            return True
        allowed = math.ceil(
            self.options.widening * max(node.visits, 1) ** self.options.widening_power
        )
        return len(node.children) < allowed

    def _select_aflow(self) -> str | None:
        expandable = [
            node
            for node in self._nodes.values()
            if node.state == "evaluated" and self.untried(node.hash)
        ]
        if not expandable:
            return None
        top = ranked(expandable, key=lambda n: (n.score or 0.0,))[: self.options.top_k]
        top += [n for n in expandable if n.hash in self._roots and n not in top]
        probabilities = aflow_probabilities(
            [n.score or 0.0 for n in top], alpha=self.options.alpha, lam=self.options.lam
        )
        return self.context.rng.choices(top, weights=probabilities)[0].hash

    # --- expansion -----------------------------------------------------------------------

    def _request(self, node: Node, options: list[Edit]) -> EditRequest:
        used = {edit.operator for edit in options}
        return EditRequest(
            candidate=node.candidate,
            score=node.score,
            mean=node.mean,
            cost_per_task=node.cost_per_task,
            n_tasks=node.n_tasks,
            edits=tuple(options),
            experience=tuple(node.experience.values()),
            operators={op.name: op.description for op in self.operators if op.name in used},
            history=tuple(
                item
                for other in self._nodes.values()
                for item in other.experience.values()
                if item.outcome in ("improved", "failed")
            ),
        )

    def expand(self, workflow: str) -> Edit | None:
        """Apply one untried edit of the node (the proposer's pick) and add the child."""
        node = self._nodes[workflow]
        options = self.untried(workflow)
        if not options:
            return None
        request = self._request(node, options)
        choice = self.proposer.choose(request, self.context.rng)
        by_key = {edit.key: edit for edit in options}
        if choice.edit not in by_key:
            node.experience[choice.edit] = Experience(
                edit=choice.edit,
                operator=choice.edit.split("(", 1)[0],
                before=node.score,
                outcome="invalid",
                proposer=choice.proposer,
                note="not an untried edit of this workflow",
            )
            choice = RuleProposer().choose(request, self.context.rng)
            choice = choice.model_copy(
                update={
                    "reason": f"fallback ({self.proposer.name} chose an invalid edit)",
                    "fallback": True,
                }
            )
        edit = by_key[choice.edit]
        child = Node(
            candidate=edit.candidate,
            index=len(self._nodes),
            parent=node.hash,
            edit=edit.key,
            operator=edit.operator,
            depth=node.depth + 1,
        )
        self._add(child)
        node.children.append(child.hash)
        node.experience[edit.key] = Experience(
            edit=edit.key,
            operator=edit.operator,
            child=child.hash,
            before=node.score,
            outcome="pending",
            proposer=choice.proposer,
            note=choice.reason,
        )
        self._dirty.add(node.hash)
        self._expansions += 1
        return edit

    # --- ask / report / tell -------------------------------------------------------------

    def _propose(
        self, node: Node, tasks: tuple[str, ...] | None = None, *, stage: str = "all"
    ) -> Proposal:
        node.state = "pending"
        self._dirty.add(node.hash)
        self._flush()
        key = (node.hash, stage)
        return Proposal(candidate=node.candidate, tasks=tasks, ordered=True, key=key)

    def _propose_new(self, node: Node) -> Proposal:
        """A new workflow: on a prefix of the tasks once there is an incumbent to beat."""
        ids = self.context.task_ids
        if (
            not self.options.prune
            or self.options.min_tasks >= len(ids)
            or self.incumbent() is None
        ):
            return self._propose(node)
        return self._propose(node, tuple(ids[: self.options.min_tasks]), stage="prefix")

    def ask(self) -> Proposal | None:
        """Completions of promising workflows first, then roots, then one new workflow.

        Returns ``None`` when the iterations are used up or nothing can be
        expanded now (a running evaluation may open new nodes).
        """
        if self._continue:
            h = self._continue.pop(0)
            rest = tuple(self.context.task_ids[self.options.min_tasks :])
            return self._propose(self._nodes[h], rest, stage="rest")
        if self._retry:
            return self._propose_new(self._nodes[self._retry.pop(0)])
        for h in self._roots:
            if self._nodes[h].state == "new":
                return self._propose(self._nodes[h])
        if self._expansions >= self.options.iterations:
            self._flush()
            self._finished = f"{self.options.iterations} expansions done (iterations)"
            return None
        target = self.select()
        edit = self.expand(target) if target is not None else None
        if edit is None:
            self._flush()  # duplicates found while selecting are worth keeping
            if not any(n.state == "pending" for n in self._nodes.values()):
                self._finished = (
                    f"no node of the tree ({len(self._nodes)} workflows) has an untried edit "
                    "that selection can reach"
                )
            return None
        return self._propose_new(self._nodes[edit.candidate.hash])

    def _reward(self, mean: float, cost_per_task: float) -> float:
        value = self.context.objective.value(mean, cost_per_task)
        return value if math.isfinite(value) else INFEASIBLE

    def finished(self) -> str | None:
        """Why the tree search stopped proposing, once it has."""
        return getattr(self, "_finished", None)

    def incumbent(self) -> TreeNode | None:
        """The best node evaluated on every search task."""
        complete = [n for n in self._nodes.values() if n.state == "evaluated" and n.complete]
        if not complete:
            return None
        top = best(complete, key=lambda n: (n.score or 0.0, -(n.cost_per_task or 0.0)))
        assert top is not None
        return top.snapshot()

    def report(self, proposal: Proposal, record: EvalRecord, step: int) -> bool:
        """Stop a workflow once it is clearly worse than the incumbent.

        Checked from the ``min_tasks``-th result on; at the end of the first
        stage (the prefix) this decides whether the workflow is completed.
        """
        h = proposal.candidate.hash
        seen = self._partial.setdefault(h, [])
        seen.append((record.task_id, record.score, record.cost))
        if not self.options.prune:
            return False
        n = len(seen)
        if n < self.options.min_tasks or n >= len(self.context.tasks):
            return False
        best = self.incumbent()
        if best is None or best.hash == h or best.score is None:
            return False
        _, high = wilson_interval(
            sum(s for _, s, _ in seen), n, confidence=self.options.confidence
        )
        if self._reward(high, sum(c for _, _, c in seen) / n) < best.score:
            return True
        return self.options.paired and self._paired_worse(h, best.hash)

    def _paired_worse(self, workflow: str, incumbent: str) -> bool:
        """Whether a signed-rank test puts ``workflow``'s scores below ``incumbent``'s.

        Scores are compared on the tasks both have seen. With a cost-aware
        objective a cheaper workflow may make up for lower scores, so it is
        left to the interval test.
        """
        mine = {task: (score, cost) for task, score, cost in self._partial.get(workflow, [])}
        theirs = {task: (score, cost) for task, score, cost in self._partial.get(incumbent, [])}
        shared = [task for task in mine if task in theirs]
        if len(shared) < self.options.min_tasks:
            return False  # e.g. after a resume, when the incumbent's tasks are not in memory
        if self.context.objective.point_value is not None:
            cost_mine = sum(mine[t][1] for t in shared)
            if cost_mine < sum(theirs[t][1] for t in shared):
                return False
        differences = [mine[t][0] - theirs[t][0] for t in shared]
        if sum(differences) >= 0:
            return False  # as good as the incumbent on these tasks
        return signed_rank_p(differences) < self.options.p_threshold

    def tell(self, outcome: Outcome) -> None:
        """Complete a promising workflow, or record its reward and back it up to the root."""
        h = outcome.proposal.candidate.hash
        node = self._nodes.get(h)
        if node is None:
            return
        stats = outcome.stats
        if stats.n_tasks == 0:  # nothing ran (the budget ended): try again on resume
            self._partial.pop(h, None)
            self._flush()
            return
        if (
            outcome.proposal.key[1] == "prefix"
            and not outcome.pruned
            and not stats.complete
            and outcome.stop_reason == "completed"
        ):
            self._continue.append(h)  # promising on the prefix: evaluate the rest
            return
        reward = self._reward(stats.mean, stats.cost_per_task)
        node.state = "evaluated"
        node.score = reward
        node.mean = stats.mean
        node.cost_per_task = stats.cost_per_task
        node.n_tasks = stats.n_tasks
        node.complete = stats.complete
        node.pruned = outcome.pruned
        self._dirty.add(h)
        self.backpropagate(h, reward)
        if node.parent is not None and node.edit is not None:
            parent = self._nodes[node.parent]
            before = parent.experience.get(node.edit)
            if before is not None:
                improved = parent.score is not None and reward > parent.score
                parent.experience[node.edit] = before.model_copy(
                    update={
                        "before": parent.score,
                        "after": reward,
                        "outcome": "improved" if improved else "failed",
                    }
                )
        self._flush()

    # --- results -------------------------------------------------------------------------

    def handover(self, k: int = 5) -> Handover:
        """The ``k`` best evaluated workflows, complete ones first."""
        evaluated = [n for n in self._nodes.values() if n.state == "evaluated"]
        order = ranked(
            evaluated,
            key=lambda n: (float(n.complete), n.score or 0.0, -(n.cost_per_task or 0.0)),
        )
        return Handover(candidates=[n.candidate for n in order[:k]])

    @property
    def capabilities(self) -> Capabilities:
        """It edits rolegraph workflow topologies: rolegraph workflows only."""
        return Capabilities(edits_topologies=True)

    def plan(self, request: PlanRequest) -> list[StagePlan]:
        """The roots and ``iterations`` edits; cheap-first ones may stop after ``min_tasks``."""
        options = self.options
        tasks = request.tasks
        roots = max(1, len(self.start))
        n = min(request.size, options.iterations + roots)
        if options.prune:
            low = (tasks,) + (min(options.min_tasks, tasks),) * (n - 1)
        else:
            low = (tasks,) * n
        tried = f"cheap-first from {options.min_tasks} tasks" if options.prune else "every task"
        return [
            StagePlan(
                name=self.name,
                summary=f"{options.iterations} edits from {roots} root(s), {tried}",
                high_slots=(tasks,) * n,
                low_slots=low,
                proposals=n * (2 if options.prune else 1),
            )
        ]

    def describe(self) -> dict[str, Any]:
        """Its options, the edit operators by name, and the proposer's settings."""
        return {
            **super().describe(),
            "operators": [op.name for op in self.operators],
            **self.proposer.describe(),
        }


def _proposer(value: Proposer | BaseChatModel | str) -> Proposer:
    if isinstance(value, Proposer):
        return value
    if isinstance(value, BaseChatModel):
        return LLMProposer(value)
    if value in ("random", "ordered"):
        return RuleProposer(value)  # type: ignore[arg-type]
    if value == "credit":
        return CreditProposer()
    if ":" in value:
        return LLMProposer(value)
    raise ValueError(
        f"proposer must be 'random', 'ordered', 'credit', a Proposer, a chat model or a "
        f"'provider:model' reference, got {value!r}"
    )


def seed_candidate(space: SearchSpace) -> Candidate:
    """The cheapest sensible start: ``single`` with the median-price model.

    Without ``single`` in the space: the topology whose simplest workflow (every
    setting at its first value, every model the median one) has the fewest
    agents; with no topologies: the first hand-designed spec.

    Raises:
        SpaceError: No workflow can be built from the space.
    """
    options: list[Candidate] = []
    for topology in space.topologies:
        values = fill_params(space, topology, {}, median_model(space))
        try:
            candidate = space.candidate(topology, values, origin="seed")
        except SpaceError:
            continue
        if topology == "single":
            return candidate
        options.append(candidate)
    if options:
        return min(options, key=lambda c: len(c.workflow.agents))
    if space.extra:
        return Candidate(spec=space.extra[0], origin="seed")
    raise SpaceError("no seed workflow could be built from this space")
