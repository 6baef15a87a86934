"""Locust load test of a merchant's my.getPhoneNumber decryption endpoint, fed by an
`alipay-sim corpus` file (NDJSON or CSV; see simulator/src/tools/corpus/mod.rs for the format).

Every Locust request posts one corpus line's envelope, byte for byte, to the merchant and
checks the answer against what that line says a correct merchant must do. The mobiles are what
the check looks at, whatever the merchant's answer format:

- ``wrong mobile``: an ``accept`` line answered with another mobile (the classic bug under load:
  a cache or a shared buffer hands one user's number to another);
- ``missing mobile``: an ``accept`` line answered without its mobile;
- ``leaked mobile``: a line that must not yield a mobile (a forged or damaged envelope, a
  platform error, an account without a number) answered with one, or with its canary;
- ``unexpected status``: an ``accept`` line answered with a non-2xx status, or another line
  answered 2xx (``--no-status-check`` turns this off for merchants that answer 200 to errors);
- ``transport error``: no HTTP answer at all.

Distributed runs: the master gives every worker its own slice of the corpus when the test
starts (worker k of n takes the lines whose id is k modulo n), so no two workers send the same
envelope. Start all workers before the test starts (``--expect-workers N`` in headless mode).
A worker whose slice is used up starts it over, or stops its users with ``--corpus-once``.
At the end the master prints what each worker sent and exits 1 when any check failed, when no
request was made, or when a worker reported lines outside its slice.

The same file runs unchanged on one machine (``locust -f load/locustfile.py --headless``) and on
a cluster (every worker machine needs this file and the corpus at the same ``--corpus`` path).
"""

import csv
import json
import logging

from locust import FastHttpUser, events, task
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner

log = logging.getLogger("corpus")

FAILURES = ("wrong mobile", "missing mobile", "leaked mobile", "unexpected status", "transport error")


@events.init_command_line_parser.add_listener
def _arguments(parser):
    parser.add_argument(
        "--corpus",
        env_var="LOCUST_CORPUS",
        default="corpus.ndjson",
        help="alipay-sim corpus file (NDJSON, or CSV when it ends in .csv)",
    )
    parser.add_argument(
        "--merchant-path",
        env_var="LOCUST_MERCHANT_PATH",
        default="/",
        help="path of the decryption endpoint under --host",
    )
    parser.add_argument(
        "--mobile-field",
        env_var="LOCUST_MOBILE_FIELD",
        default="mobile",
        help="JSON key under which the merchant answers the mobile (searched at any depth)",
    )
    parser.add_argument(
        "--corpus-once",
        action="store_true",
        default=False,
        help="stop a worker's users when its slice is used up (default: start it over)",
    )
    parser.add_argument(
        "--no-status-check",
        action="store_true",
        default=False,
        help="do not require 2xx for accept lines and non-2xx for the others",
    )


def read_corpus(path):
    """Yields (id, record dict) for every line of an NDJSON or CSV corpus, streaming."""
    if path.endswith(".csv"):
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                expect = {"outcome": row["outcome"]}
                for k in ("mobile", "code", "sub_code"):
                    if row[k]:
                        expect[k] = row[k]
                yield int(row["id"]), {
                    "case": row["case"],
                    "expect": expect,
                    "canary": row["canary"] or None,
                    "content_type": row["content_type"] or None,
                    "envelope": row["envelope"],
                }
    else:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except ValueError as e:
                    raise SystemExit(f"{path}:{n}: not a JSON line: {e}")
                yield rec["id"], rec


class Slice:
    """This process's share of the corpus: the lines with id % count == index."""

    def __init__(self):
        self.index = None
        self.count = None
        self.lines = None
        self.found_in_pass = False
        self.done = False
        self.sent = 0
        self.outside = 0

    def assign(self, index, count):
        self.index, self.count = index, count
        self.lines = None
        self.done = False

    def next(self, path, once):
        """The next (id, record) of this slice, or None when there is none (any more)."""
        if self.index is None or self.done:
            return None
        for _ in range(2):
            if self.lines is None:
                self.lines = read_corpus(path)
                self.found_in_pass = False
            for rid, rec in self.lines:
                if rid % self.count == self.index:
                    self.found_in_pass = True
                    return rid, rec
            # This pass is over: start again, unless --corpus-once or the slice is empty.
            self.lines = None
            if once or not self.found_in_pass:
                self.done = True
                return None
        return None

    def report(self):
        return {"index": self.index, "count": self.count, "sent": self.sent, "outside": self.outside}


SLICE = Slice()
REPORTS = {}


@events.init.add_listener
def _init(environment, **_kw):
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        def on_slice(msg, **_):
            SLICE.assign(msg.data["index"], msg.data["count"])
            log.info("corpus slice %d of %d", SLICE.index, SLICE.count)

        runner.register_message("corpus_slice", on_slice)

        @events.report_to_master.add_listener
        def _report(client_id, data, **_):
            data["corpus"] = SLICE.report()
    elif isinstance(runner, MasterRunner):
        @events.worker_report.add_listener
        def _collect(client_id, data, **_):
            if "corpus" in data:
                REPORTS[client_id] = data["corpus"]
    else:
        SLICE.assign(0, 1)


@events.test_start.add_listener
def _start(environment, **_kw):
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        workers = sorted(runner.clients.keys())
        for i, client_id in enumerate(workers):
            runner.send_message("corpus_slice", {"index": i, "count": len(workers)}, client_id)
        log.info("gave %d workers a corpus slice each", len(workers))


def find_key(value, key):
    """The first string under `key` at any depth of a JSON value."""
    if isinstance(value, dict):
        v = value.get(key)
        if isinstance(v, str):
            return v
        value = list(value.values())
    if isinstance(value, list):
        for v in value:
            found = find_key(v, key)
            if found is not None:
                return found
    return None


def judge(rec, status, text, mobile_field, status_check):
    """None when the answer is right for this line, else the failure category and detail."""
    expect = rec["expect"]
    try:
        answer = json.loads(text) if text else None
    except ValueError:
        answer = None
    found = find_key(answer, mobile_field) if answer is not None else None
    if expect["outcome"] == "accept":
        want = expect["mobile"]
        if found is not None and found != want:
            return "wrong mobile", f"expected {want}, answered {found}"
        if found != want and want not in text:
            return "missing mobile", f"expected {want}; answered HTTP {status}"
        if status_check and not 200 <= status < 300:
            return "unexpected status", f"HTTP {status} for an accept line"
        return None
    canary = rec.get("canary")
    if canary and canary in text:
        return "leaked mobile", f"the forged envelope's mobile {canary} is in the answer"
    if found:
        return "leaked mobile", f"answered mobile {found} for a {expect['outcome']} line"
    if status_check and 200 <= status < 300:
        return "unexpected status", f"HTTP {status} for a {expect['outcome']} line"
    return None


class Merchant(FastHttpUser):
    """One mini-program user after another, each forwarding one envelope."""

    @task
    def post_envelope(self):
        opts = self.environment.parsed_options
        nxt = SLICE.next(opts.corpus, opts.corpus_once)
        if nxt is None:
            if SLICE.index is None:
                log.error("no corpus slice assigned: was this worker started after the test began?")
            raise StopUser()
        rid, rec = nxt
        if SLICE.count and rid % SLICE.count != SLICE.index:
            SLICE.outside += 1
        SLICE.sent += 1
        headers = {"Content-Type": rec.get("content_type") or "application/json"}
        with self.client.post(
            opts.merchant_path,
            data=rec["envelope"].encode("utf-8"),
            headers=headers,
            name=rec["case"],
            catch_response=True,
        ) as res:
            if not res.status_code:
                res.failure(f"transport error: {res.error}")
                return
            verdict = judge(rec, res.status_code, res.text or "", opts.mobile_field, not opts.no_status_check)
            if verdict is None:
                res.success()
            else:
                category, detail = verdict
                # The category leads the message so the master can count by it; the detail
                # names the line.
                res.failure(f"{category}: line {rid}: {detail}")


@events.quitting.add_listener
def _summary(environment, **_kw):
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        return
    stats = environment.stats
    counts = dict.fromkeys(FAILURES, 0)
    other = 0
    for err in stats.errors.values():
        message = str(err.error)
        for cat in FAILURES:
            if message.startswith(cat):
                counts[cat] += err.occurrences
                break
        else:
            other += err.occurrences
    total = stats.total.num_requests
    ok = True
    print(f"corpus check: {total} requests, " + ", ".join(f"{n} {c}" for c, n in counts.items()) + f", {other} other failures")
    if isinstance(runner, MasterRunner):
        slices = sorted((r["index"], r["count"], r["sent"], r["outside"]) for r in REPORTS.values())
        for index, count, sent, outside in slices:
            print(f"corpus slice {index} of {count}: sent {sent} lines, {outside} outside the slice")
        indexes = [s[0] for s in slices]
        if len(set(indexes)) != len(indexes) or None in indexes:
            print("corpus check: FAILED: workers did not each get their own slice")
            ok = False
        if any(s[3] for s in slices):
            print("corpus check: FAILED: a worker sent lines outside its slice")
            ok = False
    if total == 0:
        print("corpus check: FAILED: no request was made")
        ok = False
    if any(counts.values()) or other:
        ok = False
    if not ok:
        environment.process_exit_code = 1

