"""Write one benchmark's section into docs/benchmarks.md, keeping the other sections."""

from __future__ import annotations

import os
import platform
import re
from datetime import datetime
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADER = ("# Benchmarks\n\nFigures printed by the scripts in `bench/`, recorded with `--record`. "
          "Machine: 2 cores, 24 GiB; PostgreSQL 15 on the same host; the load generator runs on "
          "the same 2 cores; each section states its gunicorn settings.\n")


def record_section(key: str, title: str, table: str, verdicts: list[str], command: str) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else HEADER
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
    section = (f"<!-- {key}:start -->\n## {title}\n\n`.venv/bin/python {command} --record`, run "
               f"{stamp} on {platform.machine()} with {os.cpu_count()} CPUs.\n\n{table}\n\n"
               + "\n".join(verdicts) + f"\n<!-- {key}:end -->\n")
    pattern = re.compile(rf"<!-- {key}:start -->.*?<!-- {key}:end -->\n", re.S)
    text = pattern.sub(section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text, encoding="utf-8")
