"""Starts one named search on a store that may not exist yet, for the fresh-store race test.

Usage: python tests/search/store/_fresh_worker.py STORE NAME GO
Prints READY once imported, waits until the file GO exists (so several workers start
together), then creates the search on STORE, runs it and prints DONE with its best.
"""

import sys
import time
from pathlib import Path

from search import SearchSettings, SearchSpace, create_search
from search.evaluation import bundled_dataset


def main() -> None:
    store, name, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    print("READY", flush=True)
    while not go.exists():
        time.sleep(0.005)
    search = create_search(
        space=SearchSpace(
            topologies=["single"],
            pool=["sim:atlas-nano", "sim:atlas-pro"],
            fixed={"single": {"temperature": 0.0}},
        ),
        dataset=bundled_dataset("arithmetic", n=8, seed=3),
        strategy="tpe",  # an Optuna study in the store's file: Optuna's tables are created too
        n_trials=2,
        n_startup_trials=2,
        store=store,
        name=name,
        settings=SearchSettings(parallel=1, test_size=0.25),
    )
    result = search.run()
    print("DONE", result.name, result.best.hash if result.best else None, flush=True)


if __name__ == "__main__":
    main()
