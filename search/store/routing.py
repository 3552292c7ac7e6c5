"""A deployed router's decisions and the delayed feedback on them, kept across processes."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from search.store.database import StoreBase
from search.store.records import now

__all__ = ["Routing", "RoutingDecision"]


class RoutingDecision(BaseModel):
    """One routed request: what the router saw and did, and the feedback, once given."""

    model_config = ConfigDict(frozen=True)

    router: str = Field(description="The router's id.")
    run_id: str = Field(description="The request's id, returned with its result.")
    features: tuple[float, ...] = Field(description="The question's features (no text kept).")
    arms: tuple[int, ...] = Field(description="The arms the plan allowed, in order.")
    arm: int | None = Field(default=None, description="The arm that answered, once finished.")
    cost: float | None = Field(default=None, description="Dollars the request cost.")
    explored: bool = Field(default=False, description="Chosen to explore.")
    score: float | None = Field(default=None, description="Feedback score, once given.")


class Routing(StoreBase):
    """Tables ``routing_decisions`` and ``routing_feedback``."""

    def put_decision(
        self,
        router: str,
        run_id: str,
        *,
        features: list[float],
        arms: list[int],
        explored: bool,
    ) -> None:
        """Record a request's plan before it runs."""
        with self._write() as db:
            db.conn.execute(
                "INSERT OR REPLACE INTO routing_decisions (router, run_id, features, arms, "
                "explored, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (router, run_id, json.dumps(features), json.dumps(arms), int(explored), now()),
            )

    def finish_decision(self, router: str, run_id: str, *, arm: int, cost: float) -> None:
        """Record which arm answered and what the request cost."""
        with self._write() as db:
            db.conn.execute(
                "UPDATE routing_decisions SET arm = ?, cost = ? WHERE router = ? AND run_id = ?",
                (arm, cost, router, run_id),
            )

    def put_feedback(self, router: str, run_id: str, score: float) -> bool:
        """Keep a request's score; False when it already had one (the first stands)."""
        with self._write() as db:
            cursor = db.conn.execute(
                "INSERT OR IGNORE INTO routing_feedback (router, run_id, score, created_at) "
                "VALUES (?, ?, ?, ?)",
                (router, run_id, float(score), now()),
            )
            return cursor.rowcount == 1

    def _decision(self, row: Any) -> RoutingDecision:
        router, run_id, features, arms, arm, cost, explored, score = row
        return RoutingDecision(
            router=router,
            run_id=run_id,
            features=tuple(json.loads(features)),
            arms=tuple(json.loads(arms)),
            arm=arm,
            cost=cost,
            explored=bool(explored),
            score=score,
        )

    _SELECT = (
        "SELECT d.router, d.run_id, d.features, d.arms, d.arm, d.cost, d.explored, f.score "
        "FROM routing_decisions d LEFT JOIN routing_feedback f "
        "ON f.router = d.router AND f.run_id = d.run_id "
    )

    def get_decision(self, router: str, run_id: str) -> RoutingDecision | None:
        """One request's decision, with its feedback if any."""
        with self.connection() as db:
            row = db.execute(
                self._SELECT + "WHERE d.router = ? AND d.run_id = ?", (router, run_id)
            ).fetchone()
        return self._decision(row) if row else None

    def routed_feedback(self, router: str) -> list[RoutingDecision]:
        """Every finished decision of ``router`` that has feedback, in the feedback's order."""
        with self.connection() as db:
            rows = db.execute(
                self._SELECT + "WHERE d.router = ? AND f.score IS NOT NULL "
                "AND d.arm IS NOT NULL ORDER BY f.created_at, f.rowid",
                (router,),
            ).fetchall()
        return [self._decision(row) for row in rows]

    def explorations(self, router: str) -> int:
        """How many of ``router``'s decisions explored."""
        with self.connection() as db:
            row = db.execute(
                "SELECT count(*) FROM routing_decisions WHERE router = ? AND explored = 1",
                (router,),
            ).fetchone()
        return int(row[0])
