"""Run the benchmarks: ``python -m tests.bench [NAME ...]`` (``make bench`` runs them all).

Every ``tests/bench/bench_*.py`` module is found and its ``main()`` run in name order (only the
ones named, as ``export`` or ``bench_export``, when names are given). A benchmark prints its own
figures; whatever its ``main()`` returns (a dict of figures) is printed too, one line. A benchmark
that raises is reported and the others still run; the exit code is then 1.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover(names: list[str] | None = None) -> list[str]:
    found = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if not names:
        return found
    wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in names}
    missing = wanted - set(found)
    if missing:
        raise SystemExit(f"no benchmark named {', '.join(sorted(missing))}; there are: {', '.join(found)}")
    return [n for n in found if n in wanted]


def _figures(result) -> str:
    if not isinstance(result, dict):
        return ""
    parts = []
    for k, v in result.items():
        if isinstance(v, float):
            parts.append(f"{k}={v:.4g}")
        elif isinstance(v, (int, str, bool)) or v is None:
            parts.append(f"{k}={v}")
    return ", ".join(parts)


def run_one(name: str) -> bool:
    print(f"== {name}", flush=True)
    t0 = time.perf_counter()
    try:
        module = importlib.import_module(f"{__package__ or 'tests.bench'}.{name}")
        main = module.main
        # a main that takes argv gets none: the harness's own arguments are benchmark names
        result = main([]) if inspect.signature(main).parameters else main()
    except Exception:
        print(f"{name}: FAILED", flush=True)
        traceback.print_exc()
        return False
    figures = _figures(result)
    if figures:
        print(f"{name}: {figures}")
    print(f"{name}: {time.perf_counter() - t0:.1f} s", flush=True)
    return True


def main(argv: list[str] | None = None) -> int:
    names = discover(sys.argv[1:] if argv is None else argv)
    failed = [n for n in names if not run_one(n)]
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
