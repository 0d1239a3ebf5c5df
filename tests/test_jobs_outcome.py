"""The run outcome as a table, and the small parts of scheduled runs that need no crawl:
the summary line, the settings, the run history, the JSON disk queues, the JOBDIR record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scrapy import Request, Spider
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from crawler.jobs import outcome as oc
from crawler.jobs import resume
from crawler.jobs.config import JobConfig
from crawler.jobs.diskqueue import JsonFifoDiskQueue, JsonLifoDiskQueue, decode_request, encode_request
from crawler.jobs.history import RunRecord, append_run, last_run, read_runs
from crawler.policy.config import ConfigError

CLEAN = {"finish_reason": "finished", "item_scraped_count": 3, "policy/decisions/fetch/allow": 5,
         "policy/decisions/fetch/deny": 2, "policy/decisions/use/allow": 4, "policy/decisions/use/deny": 1,
         "policy/decisions/fetch/hold": 1, "response_received_count": 12}


def facts(stats: dict | None = None, **kw: object) -> oc.RunFacts:
    return oc.RunFacts(job=kw.pop("job", "nightly"), run_id="r1", stats={**CLEAN, **(stats or {})}, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (facts(), (oc.OK, "-", 0)),
        (facts(findings=None), (oc.OK, "-", 0)),  # the log is off: nothing to verify
        (facts({"finish_reason": "shutdown"}), (oc.FAILED, "finish:shutdown", 1)),
        (facts({"finish_reason": "closespider_itemcount"}), (oc.FAILED, "finish:closespider_itemcount", 1)),
        (facts({"finish_reason": "closespider_timeout"}, ok_finish_reasons=("finished", "closespider_timeout")),
         (oc.OK, "-", 0)),
        (facts({"finish_reason": "provenance_error"}), (oc.FAILED, "finish:provenance_error", 1)),
        (facts({"finish_reason": None}), (oc.FAILED, "start", 1)),
        (facts(bootstrap_failed=True), (oc.FAILED, "start", 1)),
        (facts({"spider_exceptions/count": 2, "spider_exceptions/KeyError": 2}), (oc.FAILED, "spider-errors:2", 1)),
        (facts({"spider_exceptions/ValueError": 1}), (oc.FAILED, "spider-errors:1", 1)),
        (facts({"policy/errors/AttributeError": 1}), (oc.FAILED, "policy-errors:1", 1)),
        (facts({"policy/errors/AttributeError": 1}, max_policy_errors=1), (oc.OK, "-", 0)),
        (facts({"policy/errors/A": 2, "policy/errors/B": 1}, max_policy_errors=2), (oc.FAILED, "policy-errors:3", 1)),
        (facts(findings=["manifest.json: x", "decisions/a.parquet: y"]), (oc.FAILED, "verify:2", 1)),
        (facts(run_dir_missing=True), (oc.FAILED, "no-run-dir", 1)),
        # the most fundamental failure is named first
        (facts({"finish_reason": "shutdown", "spider_exceptions/count": 1}, findings=["x"]),
         (oc.FAILED, "finish:shutdown", 1)),
        (facts(bootstrap_failed=True, run_dir_missing=True), (oc.FAILED, "start", 1)),
    ],
)
def test_outcome_table(case: oc.RunFacts, expected: tuple[str, str, int]) -> None:
    result = oc.decide(case)
    assert (result.status, result.reason, result.exit_code) == expected


def test_every_failure_is_listed_in_order() -> None:
    case = facts({"finish_reason": "shutdown", "spider_exceptions/count": 1, "policy/errors/X": 1}, findings=["a"])
    assert oc.failures(case) == ["finish:shutdown", "spider-errors:1", "policy-errors:1", "verify:1"]


def test_summary_line_is_one_stable_line() -> None:
    line = oc.summary_line(facts(seconds=12.6))
    assert line == ("heed job=nightly run=r1 status=ok reason=- pages=5 items=3 unchanged=0 allow=9 deny=3 hold=1 "
                    "policy_errors=0 spider_errors=0 verify=clean takedowns=- seconds=13 exit=0")
    failed = oc.summary_line(facts({"finish_reason": "a reason with spaces=and equals"}, job="", findings=["x", "y"]))
    assert "\n" not in failed
    fields = dict(f.split("=", 1) for f in failed.split()[1:])
    assert fields["job"] == "-" and fields["status"] == "failed" and fields["exit"] == "1"
    assert fields["reason"] == "finish:a_reason_with_spaces_and_equals"
    assert fields["verify"] == "2-findings"
    assert dict(f.split("=", 1) for f in oc.summary_line(facts(findings=None)).split()[1:])["verify"] == "off"
    assert "verify=no-run-dir" in oc.summary_line(facts(run_dir_missing=True))


def test_pages_fall_back_to_responses_without_the_gate() -> None:
    assert oc.pages({"response_received_count": 7}) == 7
    assert oc.pages(CLEAN) == 5  # use-stage decisions: content responses, not policy files


def test_locked_line() -> None:
    assert oc.locked_line("nightly", "123@box") == "heed job=nightly run=- status=locked reason=lock-held holder=123@box exit=75"


# -- settings ------------------------------------------------------------------------------


def test_job_config_defaults_and_errors_name_the_setting() -> None:
    config = JobConfig.from_settings(Settings())
    assert (config.name, config.max_policy_errors, config.ok_finish_reasons, config.jobdir) == ("", 0, ("finished",), None)
    config = JobConfig.from_settings(Settings({"JOB_NAME": "nightly", "JOB_OK_FINISH_REASONS": "finished,closespider_timeout",
                                               "JOBDIR": "state/x"}))
    assert config.ok_finish_reasons == ("finished", "closespider_timeout") and config.jobdir == Path("state/x")
    for bad, name in [({"JOB_NAME": "../etc"}, "JOB_NAME"), ({"JOB_MAX_POLICY_ERRORS": "many"}, "JOB_MAX_POLICY_ERRORS"),
                      ({"JOB_MAX_POLICY_ERRORS": -1}, "JOB_MAX_POLICY_ERRORS"), ({"JOB_OK_FINISH_REASONS": []}, "JOB_OK_FINISH_REASONS")]:
        with pytest.raises(ConfigError, match=name):
            JobConfig.from_settings(Settings(bad))


def test_project_settings_select_the_json_queues() -> None:
    from crawler import settings

    assert settings.SCHEDULER_DISK_QUEUE == "crawler.jobs.diskqueue.JsonLifoDiskQueue"
    assert settings.SCHEDULER_START_DISK_QUEUE == "crawler.jobs.diskqueue.JsonFifoDiskQueue"
    assert settings.JOB_MAX_POLICY_ERRORS == 0 and settings.JOB_OK_FINISH_REASONS == ["finished"]


# -- history -------------------------------------------------------------------------------


def test_history_appends_and_skips_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / ".jobs" / "nightly" / "runs.jsonl"
    assert read_runs(path) == [] and last_run(path) is None
    append_run(path, RunRecord("r1", "t0", "t1", "ok", "-", 0))
    append_run(path, RunRecord("r2", "t2", "t3", "failed", "finish:shutdown", 1))
    with open(path, "a") as fh:
        fh.write('{"run_id": "r3", "sta')  # power lost mid-append
    assert [r.run_id for r in read_runs(path)] == ["r1", "r2"]
    assert last_run(path).run_id == "r1"  # type: ignore[union-attr]
    assert last_run(path, status=None).run_id == "r2"  # type: ignore[union-attr]
    first = json.loads(path.read_text().splitlines()[0])
    assert first == {"run_id": "r1", "started": "t0", "finished": "t1", "status": "ok", "reason": "-", "exit": 0}


# -- JSON disk queues ----------------------------------------------------------------------


class _Spider(Spider):
    name = "q"

    def parse(self, response, **kwargs):  # noqa: ANN001, ANN201
        return None

    def parse_other(self, response, **kwargs):  # noqa: ANN001, ANN201
        return None


def _crawler() -> object:
    crawler = get_crawler(_Spider)
    crawler.spider = _Spider()
    return crawler


@pytest.mark.parametrize("cls", [JsonFifoDiskQueue, JsonLifoDiskQueue])
def test_json_queue_round_trip_survives_reopening(tmp_path: Path, cls: type) -> None:
    crawler = _crawler()
    key = str(tmp_path / "deep" / "q")
    q = cls.from_crawler(crawler, key)
    first = Request("http://a.test/1", callback=crawler.spider.parse_other, method="POST", body=b"\x00\xffbody",
                    headers={"X-A": "1"}, cookies={"c": "v"}, meta={"depth": 2, "k": [1, "x"]}, priority=3)
    q.push(first)
    q.push(Request("http://a.test/2"))
    assert len(q) == 2
    q.close()
    files = [Path(key)] if Path(key).is_file() else [p for p in Path(key).rglob("*") if p.is_file()]
    raw = b"".join(p.read_bytes() for p in files)
    assert b"http://a.test/1" in raw and b"pickle" not in raw and b"\x80\x04" not in raw  # no pickle protocol header
    q = cls.from_crawler(crawler, key)
    popped = [q.pop(), q.pop()]
    assert q.pop() is None
    one = next(r for r in popped if r.url.endswith("/1"))
    assert (one.method, one.body, one.headers["X-A"], one.meta["k"], one.priority) == ("POST", b"\x00\xffbody", b"1", [1, "x"], 3)
    assert one.callback == crawler.spider.parse_other
    q.close()


def test_unserializable_request_raises_value_error_so_scrapy_keeps_it_in_memory(tmp_path: Path) -> None:
    crawler = _crawler()
    q = JsonLifoDiskQueue.from_crawler(crawler, str(tmp_path / "q"))
    with pytest.raises(ValueError, match="cannot be stored as JSON"):
        q.push(Request("http://a.test/audio.mp3", meta={"state": object()}))
    with pytest.raises(ValueError):
        q.push(Request("http://a.test/", callback=lambda r: None))  # not a spider method
    assert len(q) == 0
    q.close()


def test_encode_is_plain_json() -> None:
    data = encode_request(Request("http://a.test/x", meta={"depth": 1}))
    assert json.loads(data)["url"] == "http://a.test/x"
    assert decode_request(data).meta["depth"] == 1


# -- the JOBDIR run record -----------------------------------------------------------------


def test_jobdir_records_then_reuses_the_run_identity(tmp_path: Path) -> None:
    jobdir, runs = tmp_path / "job", tmp_path / "runs"
    first = resume.prepare(jobdir, run_id="", worker="", provenance_dir=runs, job="nightly")
    assert not first.resumed and first.identity.worker.startswith("w")
    again = resume.prepare(jobdir, run_id="", worker="", provenance_dir=runs, job="nightly")
    assert again.resumed and again.identity == first.identity
    same = resume.prepare(jobdir, run_id=first.identity.run_id, worker=first.identity.worker, provenance_dir=runs, job="nightly")
    assert same.resumed
    for kw, setting in [({"run_id": "other"}, "PROVENANCE_RUN_ID"), ({"worker": "w9"}, "PROVENANCE_WORKER"),
                        ({"provenance_dir": tmp_path / "elsewhere"}, "PROVENANCE_DIR"), ({"job": "weekly"}, "JOB_NAME")]:
        args = {"run_id": "", "worker": "", "provenance_dir": runs, "job": "nightly", **kw}
        with pytest.raises(resume.ResumeMismatch, match=setting):
            resume.prepare(jobdir, **args)  # type: ignore[arg-type]


def test_a_finished_jobdir_is_emptied_of_run_state_only(tmp_path: Path) -> None:
    jobdir = tmp_path / "job"
    resume.prepare(jobdir, run_id="r1", worker="w1", provenance_dir=tmp_path, job="")
    (jobdir / "requests.queue").mkdir()
    (jobdir / "requests.queue" / "active.json").write_text("[]")
    (jobdir / "requests.seen").write_text("abc\n")
    (jobdir / "spider.state").write_bytes(b"x")
    (jobdir / "notes.txt").write_text("mine")
    resume.complete(jobdir)
    assert sorted(p.name for p in jobdir.iterdir()) == ["notes.txt"]
    assert not resume.prepare(jobdir, run_id="", worker="", provenance_dir=tmp_path, job="").resumed


def test_a_damaged_run_record_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / resume.STATE_FILE).write_text('{"run_id": "../x", "worker": "w1", "provenance_dir": "/p"}')
    with pytest.raises(ConfigError, match="JOBDIR"):
        resume.load(tmp_path)
