"""Report ingestion throughput and memory, against a bare gzip + csv read of the same file, and
the time DynamoDB's per-partition write limit makes a large report take.

1. For generated flat-file reports of 100k and 1M rows (gzip, Amazon's tab-delimited layout):
   rows/s and peak RSS of SellerStream's ingestion and of a bare ``gzip`` + ``csv.reader`` pass
   over the same file, each in a fresh process, interleaved round by round (load from other
   processes falls on both alike); figures are medians over rounds, the ratio the median of each
   round's ratio.

   - ours: what ``logic/report_finished.py`` runs for a DONE report once its raw copy is in S3,
     through the same functions in the same order: ``open_document`` (streamed gunzip, format
     sniffing), ``read_rows`` (strict incremental decoding, one row per line), the ``ReportRows``
     of ``row_shards_for`` and ``lookup_column``, ``DynamoDBRowWriter.open`` (its thread pool, 16 writer
     threads) and ``ingest`` in 1,000-row chunks: every row becomes a complete BatchWriteItem
     PutRequest (pk, sk, cells, expires_at, lookup, as DynamoDB attribute values) in 25-item
     batches. The process first imports the report handler (``sellerstream.handlers.
     report_finished``), as a Lambda container has before its first report: the same modules, and
     the same garbage-collector state (start-up objects frozen, as every handler does).
   - bare: ``gzip.open`` in text mode and ``csv.reader`` (tab, no quoting), counting rows.
   - Both timers start after the imports (a container pays them once, at its cold start:
     ``bench/handler_import.py``); the import of the handler is reported as ``ours_import_s``.
   - Storage is an in-memory stand-in for BatchWriteItem that receives every batch and accepts it:
     the figure is SellerStream's own cost, not DynamoDB's, boto3's or moto's.
2. Simulated DynamoDB limits: the 1M-row report through the real DynamoDBRowWriter against a stand-in
   that enforces, in simulated time, 1,000 writes/s per partition key value (base table and
   lookup index) and the table's on-demand limit (40,000 writes/s), each a bucket holding one
   second of capacity, answering over-limit items as
   ``UnprocessedItems`` (or ``ProvisionedThroughputExceededException`` when none fit), with 5 ms
   per call. Simulated time advances by each call's latency and each backoff sleep divided by the
   writer's parallelism (its batches in flight). Compared with rows / table limit (the best any
   key design can do) and rows / one partition's limit (one partition key per report).

    python bench/report_ingest.py [--rounds N] [--json]

``--json`` prints one object with the figures: ``sizes`` (per row count: ``ours_rows_per_s``,
``bare_rows_per_s``, ``ratio_to_bare``, ``ratio_to_bare_rounds``, ``ours_peak_rss_mb``,
``bare_peak_rss_mb``, ``ours_import_s``, ``ours_cpu_s``, ``bare_cpu_s``, ``file_mb``),
``rss_ratio_1m_to_100k``, ``simulated_partition_limit``, ``rounds`` and ``compared`` (what each
side does, how it is timed and how the ratio is formed).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import importlib
import io
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

SIZES = (100_000, 1_000_000)
PARTITION_WRITES_PER_SECOND = 1_000.0
TABLE_WRITES_PER_SECOND = 40_000.0  # DynamoDB's default on-demand per-table write limit
CALL_LATENCY_SECONDS = 0.005


def generate(path: Path, rows: int) -> None:
    from sellerstream_local.emulator.reports import write_flat_file

    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as target:
        write_flat_file(target, rows)


def bare_read(path: Path) -> int:
    rows = 0
    with gzip.open(path, "rt", encoding="utf-8", newline="") as text:
        reader = csv.reader(text, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        for _ in reader:
            rows += 1
    return rows


class InMemoryDynamoDB:
    """Accepts BatchWriteItem like DynamoDB with spare capacity: nothing unprocessed."""

    def __init__(self) -> None:
        self.items = 0
        self._lock = threading.Lock()  # called from the writer's threads

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        with self._lock:
            self.items += sum(len(requests) for requests in RequestItems.values())
        return {"UnprocessedItems": {}}


def _layout(path: Path, columns: list[str] | None) -> Any:
    from sellerstream.domain.reports import ReportRows, lookup_column, row_shards_for

    report_type = "GET_MERCHANT_LISTINGS_ALL_DATA"
    return ReportRows(
        seller_key="A1SELLER",
        report_id="54517018502",
        report_type=report_type,
        report_created="2025-07-14T03:35:13Z",
        shards=row_shards_for(path.stat().st_size, compressed=True),
        expires_at=1_800_000_000,
        lookup=lookup_column(report_type, columns or []),
        columns=tuple(columns or ()),
    )


def _ingest_with(path: Path, writer: Any) -> tuple[int, Any]:
    from sellerstream.logic.report_ingest import ingest, open_document, read_rows

    with path.open("rb") as stream:
        document_format, content = open_document(io.BufferedReader(stream), compressed=True)  # type: ignore[arg-type]
        rows = read_rows(document_format, content, "utf-8-sig")
        layout = _layout(path, rows.columns)
        with writer.open(layout) as batches:
            progress = ingest(rows, batches.write, start_row=0, should_pause=lambda written: False)
    return progress.rows_written, layout


def sellerstream_ingest(path: Path) -> int:
    from sellerstream.adapters.reports import DynamoDBRowWriter

    table = InMemoryDynamoDB()
    rows, _ = _ingest_with(path, DynamoDBRowWriter("report-rows", client=lambda: table))
    assert table.items == rows
    return rows


class _Bucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, capacity: float, now: float) -> None:
        self.tokens = capacity
        self.updated = now


class SimulatedDynamoDB:
    """BatchWriteItem under DynamoDB's write limits, in simulated time (see the module docstring)."""

    def __init__(self, parallelism: int) -> None:
        self.now = 0.0
        self.parallelism = parallelism
        self.stored = 0
        self.calls = 0
        self.throttled_items = 0
        self._partitions: dict[str, _Bucket] = {}
        self._table = _Bucket(TABLE_WRITES_PER_SECOND, 0.0)

    def sleep(self, seconds: float) -> None:
        self.now += seconds / self.parallelism

    def _refill(self, bucket: _Bucket, rate: float) -> float:
        bucket.tokens = min(rate, bucket.tokens + (self.now - bucket.updated) * rate)
        bucket.updated = self.now
        return bucket.tokens

    def _partition(self, key: str) -> _Bucket:
        bucket = self._partitions.get(key)
        if bucket is None:
            bucket = self._partitions[key] = _Bucket(PARTITION_WRITES_PER_SECOND, self.now)
        return bucket

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        self.calls += 1
        self.now += CALL_LATENCY_SECONDS / self.parallelism
        [(table, requests)] = RequestItems.items()
        unprocessed = []
        for request in requests:
            item = request["PutRequest"]["Item"]
            partitions = [self._partition("T" + item["pk"]["S"])]
            if "lookup" in item:
                partitions.append(self._partition("I" + item["lookup"]["S"]))
            # An item is written only when its partition(s) and the table all have capacity.
            has_room = self._refill(self._table, TABLE_WRITES_PER_SECOND) >= 1.0
            for bucket in partitions:
                has_room = self._refill(bucket, PARTITION_WRITES_PER_SECOND) >= 1.0 and has_room
            if has_room:
                for bucket in (*partitions, self._table):
                    bucket.tokens -= 1.0
                self.stored += 1
            else:
                unprocessed.append(request)
        self.throttled_items += len(unprocessed)
        if unprocessed and len(unprocessed) == len(requests):
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "simulated"}},
                "BatchWriteItem",
            )
        return {"UnprocessedItems": {table: unprocessed} if unprocessed else {}}


class _InlineExecutor(Executor):
    """Runs each batch as it is submitted: simulated time, not threads, models the parallelism."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:
            future.set_exception(error)
        return future


def simulated_write(path: Path) -> dict[str, float]:
    from sellerstream.adapters.reports import WRITE_PARALLELISM, DynamoDBRowWriter

    table = SimulatedDynamoDB(WRITE_PARALLELISM)
    writer = DynamoDBRowWriter(
        "report-rows",
        parallelism=WRITE_PARALLELISM,
        sleep=table.sleep,
        executor_factory=lambda workers: _InlineExecutor(),
        client=lambda: table,
    )
    rows, layout = _ingest_with(path, writer)
    assert table.stored == rows
    return {
        "rows": rows,
        "shards": layout.shards,
        "simulated_seconds": table.now,
        "ideal_seconds": rows / TABLE_WRITES_PER_SECOND,
        "one_partition_seconds": rows / PARTITION_WRITES_PER_SECOND,
        "calls": table.calls,
        "throttled_items": table.throttled_items,
    }


def _compared() -> dict[str, str]:
    """What the figures compare, printed and in ``--json``."""
    from sellerstream.adapters.reports import WRITE_PARALLELISM

    return {
        "ours": (
            "the ingestion path of logic/report_finished.py: open_document, read_rows, RowLayout,"
            f" DynamoDBRowWriter.open ({WRITE_PARALLELISM} writer threads), ingest in 1,000-row chunks; every row"
            " a complete PutRequest (pk, sk, cells, expires_at, lookup) in 25-item BatchWriteItem calls;"
            " the report handler imported first, as in a container"
        ),
        "bare": "gzip.open (text mode) + csv.reader (tab, no quoting), counting rows",
        "storage": "in-memory BatchWriteItem stand-in: receives every batch, accepts all (no DynamoDB, boto3, moto)",
        "timing": "wall clock from after the imports to the last row stored, a fresh process per pass",
        "ratio": "ours rows/s / bare rows/s in the same round; median over interleaved rounds",
    }


HANDLER_MODULE = "sellerstream.handlers.report_finished"


def measure(kind: str, path: Path) -> dict[str, float]:
    """Runs one measurement in a fresh interpreter, so peak RSS belongs to that pass alone."""
    output = subprocess.run(
        [sys.executable, __file__, "--measure", kind, str(path)], check=True, capture_output=True, text=True
    ).stdout
    return dict(json.loads(output))


def _peak_rss_mb() -> float:
    """This process's own peak RSS. Linux's ``ru_maxrss`` survives ``exec``: a fresh interpreter
    would report the bench's own peak (the parent at fork) when that is higher; ``VmHWM`` belongs
    to the process's own address space."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure_here(kind: str, path: Path) -> None:
    import_seconds = 0.0
    if kind != "bare":
        # A container's state when a report arrives: the handler's modules loaded and frozen.
        started = time.perf_counter()
        importlib.import_module(HANDLER_MODULE)
        import_seconds = time.perf_counter() - started
    started, cpu_started = time.perf_counter(), time.process_time()
    if kind == "simulated":
        print(json.dumps(simulated_write(path)))
        return
    rows = bare_read(path) if kind == "bare" else sellerstream_ingest(path)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    peak_mb = _peak_rss_mb()
    figures = {"rows": rows, "seconds": seconds, "cpu_seconds": cpu_seconds, "peak_rss_mb": peak_mb}
    print(json.dumps({**figures, "import_seconds": import_seconds}))


def _compare(path: Path, size: int, rounds: int) -> dict[str, Any]:
    bare_rates, ours_rates, ratios, bare_rss, ours_rss, imports = [], [], [], [], [], []
    bare_cpu, ours_cpu = [], []
    for _ in range(rounds):
        bare = measure("bare", path)
        ours = measure("ours", path)
        assert bare["rows"] == ours["rows"] == size
        bare_rates.append(size / bare["seconds"])
        ours_rates.append(size / ours["seconds"])
        ratios.append(ours_rates[-1] / bare_rates[-1])
        bare_rss.append(bare["peak_rss_mb"])
        ours_rss.append(ours["peak_rss_mb"])
        imports.append(ours["import_seconds"])
        bare_cpu.append(bare["cpu_seconds"])
        ours_cpu.append(ours["cpu_seconds"])
    return {
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "ours_rows_per_s": round(statistics.median(ours_rates)),
        "bare_rows_per_s": round(statistics.median(bare_rates)),
        "ratio_to_bare": round(statistics.median(ratios), 3),
        "ratio_to_bare_rounds": [round(ratio, 3) for ratio in ratios],
        "ours_peak_rss_mb": round(max(ours_rss), 1),
        "bare_peak_rss_mb": round(max(bare_rss), 1),
        "ours_import_s": round(statistics.median(imports), 2),
        # CPU seconds of every thread: less sensitive than wall time to other load on the machine.
        "ours_cpu_s": round(statistics.median(ours_cpu), 2),
        "bare_cpu_s": round(statistics.median(bare_cpu), 2),
    }


def main(as_json: bool, rounds: int) -> None:
    say = (lambda text: None) if as_json else print
    say("report ingestion: generated flat files (gzip), storage = in-memory BatchWriteItem stand-in")
    compared = _compared()
    for side, description in compared.items():
        say(f"  {side}: {description}")
    say(f"  rounds: {rounds}")
    say(
        f"{'rows':>10} {'file MB':>8} | {'ours rows/s':>12} {'peak RSS':>9} | {'bare rows/s':>12} {'peak RSS':>9} | ratio"
    )
    figures: dict[str, Any] = {"sizes": {}, "rounds": rounds, "compared": compared}
    with tempfile.TemporaryDirectory() as directory:
        for size in SIZES:
            path = Path(directory) / f"report-{size}.tsv.gz"
            generate(path, size)
            row = figures["sizes"][str(size)] = _compare(path, size, rounds)
            say(
                f"{size:>10,} {row['file_mb']:>8.1f} | {row['ours_rows_per_s']:>12,} {row['ours_peak_rss_mb']:>7.0f}MB"
                f" | {row['bare_rows_per_s']:>12,} {row['bare_peak_rss_mb']:>7.0f}MB | {row['ratio_to_bare']:.2f}x bare"
                f" (rounds: {', '.join(f'{ratio:.2f}' for ratio in row['ratio_to_bare_rounds'])})"
            )
        small, large = (figures["sizes"][str(size)] for size in SIZES)
        figures["rss_ratio_1m_to_100k"] = round(large["ours_peak_rss_mb"] / small["ours_peak_rss_mb"], 3)
        say(
            f"peak RSS, 1M rows vs 100k rows: {figures['rss_ratio_1m_to_100k']:.2f}x"
            f" (handler import, not timed: {large['ours_import_s']:.2f} s)"
        )
        simulated = measure("simulated", Path(directory) / f"report-{SIZES[-1]}.tsv.gz")
    simulated["ratio_to_ideal"] = round(simulated["simulated_seconds"] / simulated["ideal_seconds"], 3)
    figures["simulated_partition_limit"] = simulated
    say(
        f"simulated DynamoDB limits ({PARTITION_WRITES_PER_SECOND:,.0f} writes/s per partition, "
        f"{TABLE_WRITES_PER_SECOND:,.0f} per table): {simulated['rows']:,} rows over {simulated['shards']} shards "
        f"in {simulated['simulated_seconds']:.1f} s simulated = {simulated['ratio_to_ideal']:.2f}x rows/table limit "
        f"({simulated['ideal_seconds']:.1f} s); one partition per report: {simulated['one_partition_seconds']:.0f} s"
    )
    if as_json:
        print(json.dumps(figures))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--measure":
        _measure_here(sys.argv[2], Path(sys.argv[3]))
    else:
        parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
        parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per size (medians)")
        parser.add_argument("--json", action="store_true", help="print one JSON object with the figures")
        arguments = parser.parse_args()
        main(as_json=arguments.json, rounds=max(1, arguments.rounds))
