"""The whole test suite on each search engine: `python -m tests [pytest arguments]`.

Runs pytest once with KB_ENGINE=whoosh and once with KB_ENGINE=tantivy, both whatever the first gives,
and exits with status 1 if either failed (the README's test command and .ci/run use this).
"""

from __future__ import annotations

import os
import subprocess
import sys

ENGINES = ("whoosh", "tantivy")


def main() -> int:
    results = {}
    for engine in ENGINES:
        print(f"===== the test suite on {engine} =====", flush=True)
        done = subprocess.run([sys.executable, "-m", "pytest", *sys.argv[1:]], env={**os.environ, "KB_ENGINE": engine})
        results[engine] = done.returncode
    print("\n" + ", ".join(f"{engine}: {'passed' if code == 0 else f'FAILED (exit {code})'}"
                           for engine, code in results.items()), flush=True)
    return 0 if not any(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
