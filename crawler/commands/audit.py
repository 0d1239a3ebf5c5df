"""``scrapy audit ACTION RUN_DIR …``: read a run directory without trusting the crawler.

Actions:

* ``summary RUN_DIR [--json]`` — decisions by stage, verdict, reason family and host.
* ``verify RUN_DIR [--public-key FILE]`` — every listed file present with its digest and
  row count, nothing unlisted, hash chain intact, ``seq`` consecutive per worker, the
  manifest's Ed25519 signature valid (and made with FILE's key when given).
* ``recover RUN_DIR [--signing-key FILE]`` — seal what killed workers left in their journals.
* ``merge DEST_DIR RUN_DIR RUN_DIR… [--public-key FILE] [--signing-key FILE]`` — one run
  directory from the parts of one distributed run written on several machines; every part
  is verified first, the result is verified after.
* ``explain RUN_DIR URL`` — every decision about URL, with its archived evidence.
* ``replay RUN_DIR`` — decide every fetch/use row again from the archive; list differences.
* ``recheck RUN_DIR [--registry FILE …] [--ai-tokens FILE] [--against NEWER_RUN_DIR] [-o FILE]``
  — items that newer registries or AI-token lists reserve, or that the policy files and
  decisions of a newer run of the same sites reserve: a takedown list (CSV).
* ``report RUN_DIR -o FILE`` — one self-contained HTML page with charts.
* ``query RUN_DIR SQL [--format table|csv|json]`` — DuckDB over ``decisions``, ``items_*``, ``evidence``.
* ``keygen KEY_FILE`` — a new Ed25519 key pair: KEY_FILE (private, mode 0600) and
  KEY_FILE.pub; prints the public key's fingerprint. Point PROVENANCE_SIGNING_KEY at KEY_FILE.

Exit codes: 0 clean (nothing found), 1 findings (verify findings, replay differences,
takedowns, nothing to explain), 2 usage error. The logic lives in :mod:`pipelines`; this
command only parses arguments and prints.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

ACTIONS = ("summary", "verify", "recover", "merge", "explain", "replay", "recheck", "report", "query", "keygen")
_ARITY = {"explain": 3, "query": 3, "keygen": 2}


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return f"{{{'|'.join(ACTIONS)}}} RUN_DIR [URL|SQL] [options]"

    def short_desc(self) -> str:
        return "Summarise, verify, recover, merge, explain, replay, recheck, report or query a run (exit 0/1/2)"

    def long_desc(self) -> str:
        return __doc__ or ""

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--json", action="store_true", help="summary: print JSON")
        parser.add_argument("--public-key", metavar="FILE", help="verify: the Ed25519 public key the manifest must be signed with")
        parser.add_argument("--signing-key", metavar="FILE", help="recover, merge: sign the rewritten manifest (default: PROVENANCE_SIGNING_KEY)")
        parser.add_argument("--registry", action="append", default=[], metavar="FILE", help="recheck: registry CSV (repeatable)")
        parser.add_argument("--ai-tokens", metavar="FILE", help="recheck: AI-token list CSV")
        parser.add_argument("--against", metavar="NEWER_RUN_DIR",
                            help="recheck: decide again with the policy files and refusals of a newer run")
        parser.add_argument("-o", "--output", metavar="FILE", help="recheck: takedown CSV; report: HTML file")
        parser.add_argument("--format", choices=("table", "csv", "json"), default="table", help="query: output format")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if not args or args[0] not in ACTIONS:
            raise UsageError(f"expected one of {', '.join(ACTIONS)}")
        action = args[0]
        if action == "merge" and len(args) < 3:
            raise UsageError("usage: scrapy audit merge DEST_DIR RUN_DIR [RUN_DIR ...]")
        if action != "merge" and len(args) != _ARITY.get(action, 2):
            raise UsageError(f"usage: scrapy audit {action} " + {"explain": "RUN_DIR URL", "query": "RUN_DIR SQL",
                                                                  "keygen": "KEY_FILE"}.get(action, "RUN_DIR"))
        from pipelines.signing import SigningError
        from pipelines.verify import AuditUsageError

        try:
            self.exitcode = getattr(self, f"_{action}")(args, opts)
        except (AuditUsageError, SigningError) as exc:
            raise UsageError(str(exc)) from None

    # -- actions (each returns the exit code) ------------------------------------------

    def _summary(self, args: list[str], opts: argparse.Namespace) -> int:
        from pipelines import audit

        result = audit.summary(Path(args[1]))
        print(json.dumps(result, indent=2, default=str) if opts.json else audit.format_summary(result))
        return 0

    def _verify(self, args: list[str], opts: argparse.Namespace) -> int:
        from pipelines.signing import load_public_key
        from pipelines.verify import verify

        key = load_public_key(opts.public_key) if opts.public_key else None
        started, context = time.monotonic(), []
        findings = verify(Path(args[1]), public_key=key, progress=None, context=context)
        for finding in findings:
            print(finding)
        print("clean" if not findings else f"{len(findings)} finding(s)")
        if sys.stderr.isatty() and context:
            elapsed = time.monotonic() - started
            print(f"verified {context[0].rows_checked:,} rows in {elapsed:.1f} s", file=sys.stderr)
        return 1 if findings else 0

    def _recover(self, args: list[str], opts: argparse.Namespace) -> int:
        from pipelines.recover import WorkerBusy, recover_run
        from pipelines.signing import Signer
        from pipelines.verify import run_dir_of

        root = run_dir_of(args[1])
        key = opts.signing_key or self.settings.get("PROVENANCE_SIGNING_KEY")
        signer = Signer.from_file(key) if key else None
        try:
            done = recover_run(root, signer=signer)
        except WorkerBusy as exc:
            print(str(exc))
            return 1
        for r in done:
            print(f"worker {r.worker}: {len(r.written)} files written from the journal, {len(r.adopted)} adopted, "
                  f"{r.torn_bytes} torn bytes skipped")
        print("nothing to recover" if not done else f"recovered {len(done)} worker(s)")
        return 0

    def _merge(self, args: list[str], opts: argparse.Namespace) -> int:
        from pipelines.merge import MergeError, merge_runs
        from pipelines.signing import Signer, load_public_key
        from pipelines.verify import run_dir_of

        sources = [run_dir_of(a) for a in args[2:]]
        key = opts.signing_key or self.settings.get("PROVENANCE_SIGNING_KEY")
        signer = Signer.from_file(key) if key else None
        public = load_public_key(opts.public_key) if opts.public_key else None
        try:
            result = merge_runs(Path(args[1]), sources, public_key=public, signer=signer)
        except MergeError as exc:
            print(f"merge refused: {exc}")
            return 1
        print(f"run {result.run_id}: {len(result.workers)} workers, {result.files} files merged into {args[1]}")
        for finding in result.findings:
            print(finding)
        return 1 if result.findings else 0

    def _explain(self, args: list[str], opts: argparse.Namespace) -> int:
        from pipelines.explain import explain, format_explanation

        result = explain(Path(args[1]), args[2])
        print(format_explanation(result), end="")
        return 0 if result.decisions or result.items else 1

    def _replay(self, args: list[str], opts: argparse.Namespace) -> int:
        from pipelines.replay import ReplayError, format_replay, replay

        try:
            result = replay(Path(args[1]))
        except ReplayError as exc:
            print(f"cannot replay: {exc}")
            return 1
        print(format_replay(result), end="")
        return 1 if result.differences else 0

    def _recheck(self, args: list[str], opts: argparse.Namespace) -> int:
        from pipelines.recheck import recheck, takedown_csv
        from pipelines.rundir import write_atomic

        from pipelines.replay import ReplayError

        if not opts.registry and not opts.ai_tokens and not opts.against:
            raise UsageError("recheck needs --registry FILE (repeatable), --ai-tokens FILE and/or --against NEWER_RUN_DIR")
        try:
            result = recheck(Path(args[1]), registries=[Path(p) for p in opts.registry],
                             ai_tokens=Path(opts.ai_tokens) if opts.ai_tokens else None,
                             against=Path(opts.against) if opts.against else None)
        except (OSError, ValueError, ReplayError) as exc:
            raise UsageError(str(exc)) from None
        text = takedown_csv(result.takedowns)
        if opts.output:
            write_atomic(Path(opts.output), text.encode("utf-8"), replace=True)
            print(f"takedown list: {len(result.takedowns)} of {result.checked} items -> {opts.output}")
        else:
            print(text, end="")
        if result.unchecked:
            print(f"unchecked: {result.unchecked} items whose origin the newer run did not ask about", file=sys.stderr)
        return 1 if result.takedowns else 0

    def _report(self, args: list[str], opts: argparse.Namespace) -> int:
        from pipelines.report import write_report

        if not opts.output:
            raise UsageError("report needs -o FILE.html")
        data = write_report(Path(args[1]), Path(opts.output))
        print(f"report: {data['decisions']:,} decisions -> {opts.output}")
        return 0

    def _query(self, args: list[str], opts: argparse.Namespace) -> int:
        import duckdb

        from pipelines.query import format_rows, run_query

        try:
            names, rows = run_query(Path(args[1]), args[2])
        except duckdb.Error as exc:
            raise UsageError(f"query failed: {exc}") from None
        print(format_rows(names, rows, opts.format), end="")
        return 0

    def _keygen(self, args: list[str], opts: argparse.Namespace) -> int:
        from pipelines.signing import generate_keypair

        private = Path(args[1])
        public = private.with_name(private.name + ".pub")
        fingerprint = generate_keypair(private, public)
        print(f"private key: {private} (keep it secret; PROVENANCE_SIGNING_KEY={private})")
        print(f"public key:  {public} (give it to auditors: scrapy audit verify RUN_DIR --public-key {public})")
        print(f"fingerprint: {fingerprint}")
        return 0
