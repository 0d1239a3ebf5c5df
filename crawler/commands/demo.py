"""``scrapy demo``: serve the bundled sample web on loopback, crawl it, audit the run.

The sample web (``data/demo_web/``) has one host per opt-out signal heed heeds. The command
serves it on 127.0.0.1 (host names reach it through ``POLICY_RESOLVE``, nothing leaves the
machine), runs the ``music`` spider over its seeds with the full policy and provenance log,
then prints what was fetched, refused and held, and where the run directory is.

It is ``scrapy crawl music`` underneath (:mod:`crawler.commands.crawl`), so everything a
scheduled job does works here too: ``-s JOB_NAME=…`` takes the job's lock, and with a fixed
``--port`` (the URLs must be the same every run) a second run sends conditional requests.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import urlsplit

from scrapy.exceptions import UsageError
from scrapy.settings import SETTINGS_PRIORITIES

from crawler.commands.crawl import Command as CrawlCommand
from crawler.demo.webserver import SampleWeb
from crawler.policy.config import resolve_path
from pipelines import audit
from pipelines.rundir import new_run_id

DEMO_WEB = "data/demo_web"


def demo_seeds(web: SampleWeb, seeds_file: Path) -> list[str]:
    """The seed URLs of the sample web, with the server's port filled in."""
    seeds = []
    for line in seeds_file.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = urlsplit(line)
        seeds.append(web.url(parts.hostname or "", parts.path or "/"))
    return seeds


class Command(CrawlCommand):
    requires_project = True

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Crawl the bundled sample web on loopback and audit the run"

    def long_desc(self) -> str:
        return (
            "Serves the sample web in data/demo_web/ on 127.0.0.1 (one host per opt-out "
            "signal), crawls it with the music spider under the full policy, writes a run "
            "directory under PROVENANCE_DIR, then prints the audit summary, verifies the run and "
            "prints the summary line of 'scrapy crawl'. Exit status as 'scrapy crawl': 0 the crawl "
            "finished and its run verifies, 1 it failed, 2 usage, 75 the job (-s JOB_NAME=...) is "
            "locked by another run. With a fixed --port the sample web's URLs stay the same, so a "
            "named job run twice sends conditional requests the second time."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--web", default=DEMO_WEB, metavar="DIR",
                            help=f"sample web to serve (default: {DEMO_WEB})")
        parser.add_argument("--delay", type=float, default=0.2, metavar="SECONDS",
                            help="per-host delay between requests (default: 0.2)")
        parser.add_argument("--port", type=int, default=0, metavar="PORT",
                            help="loopback port of the sample web (default: any free port)")
        parser.add_argument("--access-log", metavar="FILE",
                            help="append every request the sample web receives to FILE (JSON lines)")

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        # Runs before Scrapy builds the crawler process and installs the DNS resolver, which
        # reads POLICY_RESOLVE once: the server must be up and its port known by then.
        super().process_options(args, opts)
        if args:
            raise UsageError("scrapy demo takes no positional arguments")
        root = resolve_path(opts.web)
        if not root.is_dir():
            raise UsageError(f"--web: {root} is not a directory")
        if not 0 <= opts.port <= 65535:
            raise UsageError(f"--port: {opts.port} is not a port number")
        self.web = SampleWeb(root, port=opts.port, access_log=opts.access_log).start()
        self.seeds = demo_seeds(self.web, root / "seeds.txt")
        self.run_id = self.settings.get("PROVENANCE_RUN_ID") or f"demo-{new_run_id()}"
        overrides = {
            "POLICY_RESOLVE": self.web.resolve_map(),
            "PROVENANCE_RUN_ID": self.run_id,
            "DOWNLOAD_DELAY": opts.delay,
            "AUTOTHROTTLE_START_DELAY": opts.delay,
            "LOG_LEVEL": "WARNING",
            # The demo talks only to its loopback web, so the placeholder contact is fine, and
            # an unreachable robots.txt is rechecked once after a second instead of minutes.
            "IDENTITY_ALLOW_PLACEHOLDER": True,
            "POLICY_FAILURE_TTL": 1,
            "POLITENESS_HOLD_BACKOFF": 1,
            "POLITENESS_HOLD_RECHECKS": 1,
        }
        for name, value in overrides.items():
            # Above the project's defaults, below what the user gave with -s.
            if (self.settings.getpriority(name) or 0) < SETTINGS_PRIORITIES["cmdline"]:
                self.settings.set(name, value, priority="cmdline")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        opts.spargs = {**opts.spargs, "urls": ",".join(self.seeds)}
        try:
            super().run(["music"], opts)
        finally:
            self.web.stop()
        run_dir = resolve_path(self.settings.get("PROVENANCE_DIR")) / self.run_id
        if self.exitcode == 75 or not run_dir.is_dir():
            print(f"The demo crawl did not run to the end; no run directory at {run_dir}")
            self.exitcode = self.exitcode or 1
            return
        print(audit.format_summary(audit.summary(run_dir)))
        findings = audit.verify(run_dir)
        for finding in findings:
            print(f"verify: {finding}")
        print(f"\nRun directory: {run_dir}")
        print(f"Explore it:    scrapy audit summary {run_dir}")
        print(f"Verify it:     scrapy audit verify {run_dir}")
        print("verify: " + ("clean" if not findings else f"{len(findings)} finding(s)"))
        self.exitcode = max(self.exitcode or 0, 1 if findings else 0)
