"""``scrapy audit ACTION RUN_DIR``: read a run directory without trusting the crawler.

Actions:

* ``summary`` — decisions by stage, verdict, reason family and host; items per type.
* ``verify``  — every file listed in the manifest is present with its digest and row count,
  nothing unlisted, hash chain intact, ``seq`` strictly increasing per worker.

Exit codes: 0 clean, 1 findings, 2 usage error. The logic lives in :mod:`pipelines.audit`;
this command only parses arguments and prints.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from pipelines import audit

ACTIONS = ("summary", "verify")


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return f"{{{'|'.join(ACTIONS)}}} RUN_DIR"

    def short_desc(self) -> str:
        return "Summarise or verify a run directory (exit 0 clean, 1 findings, 2 usage)"

    def long_desc(self) -> str:
        return __doc__ or ""

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 2 or args[0] not in ACTIONS:
            raise UsageError(f"expected one of {', '.join(ACTIONS)} and a run directory")
        action, run_dir = args[0], Path(args[1])
        try:
            if action == "summary":
                result = audit.summary(run_dir)
                if opts.json:
                    print(json.dumps(result, indent=2, default=str))
                else:
                    print(audit.format_summary(result))
                return
            findings = audit.verify(run_dir)
        except audit.AuditUsageError as exc:
            raise UsageError(str(exc)) from None
        for finding in findings:
            print(finding)
        print("clean" if not findings else f"{len(findings)} finding(s)")
        self.exitcode = 1 if findings else 0
