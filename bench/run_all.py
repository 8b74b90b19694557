"""Run every benchmark in bench/ and print their reports (`make bench`)."""

from __future__ import annotations

import importlib
import sys

BENCHES = [
    "bench.webhook",
    "bench.template_send",
    "bench.account_center",
    "bench.push",
    "bench.push_worker",
    "bench.funnel",
    "bench.draws",
]


def main() -> int:
    failed = []
    only = sys.argv[1:]
    for name in BENCHES:
        if only and name.split(".")[-1] not in only:
            continue
        print(f"\n=== {name}")
        try:
            importlib.import_module(name).main()
        except Exception as exc:
            print(f"{name} failed: {exc!r}")
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
