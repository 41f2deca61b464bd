"""Report ingestion through a real boto3 client: CPU seconds and rows/s for a million rows, memory,
what a million rows cost, and how many reads a lookup takes; against a bare gzip + csv read of the
same file.

1. For generated flat-file reports of 100k and 1M rows (gzip, Amazon's tab-delimited layout), each
   pass in a fresh process, interleaved round by round (load from other processes falls on all
   alike); figures are medians over rounds, each ratio the median of the rounds' ratios:

   - sdk (the headline): what ``logic/report_finished.py`` runs for a DONE report once its raw copy
     is in S3, through the same functions in the same order: ``open_document`` (streamed gunzip,
     format sniffing), ``read_rows`` (strict incremental decoding, one row per line), the
     ``ReportRows`` of ``lookup_column``, ``ReportRowWriter.open`` (its thread pool, 16 writer
     threads) and ``ingest`` in 1,000-row chunks: each chunk one gzip block put to S3, each row's
     SKU an entry of its lookup bucket, the lookups written as BatchWriteItem calls of 25 items
     when the part ends. The writer's clients are made by boto3 (as ``sellerstream.aws`` makes
     them: standard retries): every request is validated, serialized, checksummed and signed,
     and a botocore ``before-send`` handler answers it without a network (``AWSResponse``: 200, an
     empty ``UnprocessedItems`` for BatchWriteItem, an ETag for PutObject; it reads a streamed
     body as the HTTP layer would, and counts what was sent). The timer covers the clients'
     creation and the whole ingestion. The process first imports the report handler
     (``sellerstream.handlers.report_finished``), as a Lambda container has before its first
     report: the same modules, and the same garbage-collector state (start-up objects frozen, as
     every handler does); that import is reported apart (``ours_import_s``).
   - ours: the same ingestion with an in-memory stand-in for both clients (receives every call,
     keeps nothing): SellerStream's own cost without the SDK's.
   - bare: ``gzip.open`` in text mode and ``csv.reader`` (tab, no quoting), counting rows.
   - CPU seconds are the process's (every thread); rows/s are wall-clock.

2. The bill of a million rows, from the requests the sdk pass of the 1M-row report actually sent
   (prices: ``bench/prices.py``, one table for every bench): S3 PUTs (one per block), DynamoDB
   write request units (each lookup item's size by DynamoDB's rules, per KB started:
   ``bench/aws_meter.py``'s ``item_size`` and ``write_units``), and storage for the retention period
   (``REPORT_ROWS_RETENTION_DAYS``' default, 28 days, in GB-months of 730 hours): the blocks' bytes
   in S3 Standard, the lookup items' bytes plus DynamoDB's 100 bytes of overhead per item.
   Left out: Lambda (its CPU seconds are figure 1), KMS (the bucket key makes it a call per key
   and hours, not per object) and reading (per lookup, not per row). ``report_rows_bill(rows)``
   gives the same bill from a run of ``rows`` rows (``bench/cost.py`` imports it).

3. Reads per lookup: the 100k-row report ingested into an in-memory S3 and DynamoDB that keep what
   they receive, then ``ReportRowReader.find`` for a sample of SKUs, its calls counted (one Query
   of the value's bucket, one GetObject per block holding a match).

DynamoDB's write limits (1,000 write units a second per partition, 40,000 per table) no longer
shape the time, so the simulation of them this bench used to run is gone: a million-row part
writes about 1,024 lookup items once, one per bucket (a partition each, ~25 units), and S3 takes
3,500 PUTs a second per prefix where a report puts one per 1,000 rows.

    python bench/report_ingest.py [--rounds N] [--json]

``--json`` prints one object: ``sdk_rows_per_second``, ``sdk_seconds_per_million_rows``,
``usd_per_million_rows``, ``rows_breakdown`` (``s3_puts``, ``dynamodb_writes``, ``s3_storage``,
``dynamodb_storage``), ``sdk_requests`` (what the bill counts), ``lookup_reads``, ``targets`` and
``meets_targets``, ``sizes`` (per row count: ``sdk_rows_per_s``, ``sdk_cpu_s``,
``sdk_ratio_to_bare``, ``sdk_ratio_to_bare_rounds``, ``sdk_peak_rss_mb``, ``ours_rows_per_s``,
``ours_cpu_s``, ``ratio_to_bare``, ``ratio_to_bare_rounds``, ``ours_peak_rss_mb``,
``bare_rows_per_s``, ``bare_cpu_s``, ``bare_peak_rss_mb``, ``ours_import_s``, ``file_mb``),
``rss_ratio_1m_to_100k`` (the sdk pass's), ``prices``, ``rounds`` and ``compared``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import importlib
import io
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prices import PRICES, price_table

SIZES = (100_000, 1_000_000)
SELLER, REPORT_ID, REPORT_TYPE = "A1SELLER", "54517018502", "GET_MERCHANT_LISTINGS_ALL_DATA"
BUCKET, ROWS_TABLE = "sellerstream-reports", "sellerstream-report-rows"
REGION = "us-east-1"
HOURS_PER_MONTH = 730  # AWS's GB-month
GB = 1 << 30
DYNAMODB_ITEM_OVERHEAD_BYTES = 100  # counted per item for storage
LOOKUP_SAMPLE = 200
TARGETS = {"usd_per_million_rows": 0.25, "sdk_seconds_per_million_rows": 60.0, "lookup_reads": 2}
HANDLER_MODULE = "sellerstream.handlers.report_finished"


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


# -- the clients -----------------------------------------------------------------------------------


class StandIn:
    """S3 PutObject and DynamoDB BatchWriteItem that accept everything (nothing unprocessed); with
    ``keep``, they keep what they receive and answer GetObject and Query from it, counting calls."""

    def __init__(self, *, keep: bool = False) -> None:
        self.keep = keep
        self.puts = 0
        self.items = 0
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.partitions: dict[str, dict[str, dict[str, Any]]] = {}
        self.reads: list[str] = []
        self._lock = threading.Lock()  # called from the writer's threads

    def put_object(self, Bucket: str, Key: str, Body: bytes, ContentType: str) -> dict[str, Any]:
        with self._lock:
            self.puts += 1
            if self.keep:
                self.objects[Key] = (Body, ContentType)
        return {}

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        with self._lock:
            for requests in RequestItems.values():
                self.items += len(requests)
                if self.keep:
                    for request in requests:
                        item = request["PutRequest"]["Item"]
                        self.partitions.setdefault(item["pk"]["S"], {})[item["sk"]["S"]] = item
        return {"UnprocessedItems": {}}

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        self.reads.append("GetObject")
        body, content_type = self.objects[Key]
        return {"Body": io.BytesIO(body), "ContentType": content_type}

    def get_paginator(self, operation: str) -> Any:
        assert operation == "query"
        stand_in = self

        class Query:
            def paginate(self, **request: Any) -> Iterator[dict[str, Any]]:
                stand_in.reads.append("Query")
                found = stand_in.partitions.get(request["ExpressionAttributeValues"][":pk"]["S"], {})
                yield {"Items": [found[sort_key] for sort_key in sorted(found)]}

        return Query()


class _Raw:
    """What ``AWSResponse`` reads a body from (urllib3's ``stream``)."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class CannedAws:
    """boto3's S3 and DynamoDB clients, answered by ``before-send`` handlers without a network;
    counts the PUTs and the bytes they carried, keeps each BatchWriteItem body for the bill (in a
    temporary file: not in the pass's memory)."""

    def __init__(self) -> None:
        self.puts = 0
        self.put_bytes = 0
        self.batch_writes = 0
        self._bodies = tempfile.TemporaryFile()  # noqa: SIM115 - read back by ``counts``
        self._lock = threading.Lock()

    def clients(self) -> tuple[Any, Any]:
        import boto3
        from botocore.config import Config

        # As sellerstream.aws makes them: short timeouts, standard retries.
        config = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 4, "mode": "standard"})
        session = boto3.Session(
            aws_access_key_id="AKIDBENCHREPORTROWS",
            aws_secret_access_key="bench",  # noqa: S106 - signs requests no one receives
            region_name=REGION,
        )
        s3, dynamodb = session.client("s3", config=config), session.client("dynamodb", config=config)
        # First: before any other before-send handler (moto's stubber, when a mock is active).
        s3.meta.events.register_first("before-send", self._s3)
        dynamodb.meta.events.register_first("before-send", self._dynamodb)
        return s3, dynamodb

    def _s3(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        body = request.body
        if hasattr(body, "read"):  # aws-chunked with a trailing checksum: computed as it is read
            body = body.read()
        size = int(request.headers.get("X-Amz-Decoded-Content-Length") or len(body or b""))
        with self._lock:
            self.puts += 1
            self.put_bytes += size
        return AWSResponse(request.url, 200, {"ETag": '"0"', "x-amz-request-id": "bench"}, _Raw(b""))

    def _dynamodb(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        body = request.body if isinstance(request.body, bytes) else request.body.read()
        with self._lock:
            self.batch_writes += 1
            self._bodies.write(len(body).to_bytes(8, "big") + body)
        headers = {"x-amzn-RequestId": "bench", "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 200, headers, _Raw(b'{"UnprocessedItems":{}}'))

    def _batch_bodies(self) -> Iterator[bytes]:
        self._bodies.seek(0)
        while length := int.from_bytes(self._bodies.read(8) or b"\0", "big"):
            yield self._bodies.read(length)

    def counts(self) -> dict[str, Any]:
        """What was sent, as AWS bills it: PUTs and bytes stored; lookup items, their write units
        and bytes, and the most units one item (one partition) took."""
        sys.path.insert(0, str(Path(__file__).parent))
        from aws_meter import item_size, write_units

        sizes = [
            item_size(request["PutRequest"]["Item"])
            for body in self._batch_bodies()
            for requests in json.loads(body)["RequestItems"].values()
            for request in requests
        ]
        units = [write_units(size) for size in sizes]
        return {
            "s3_puts": self.puts,
            "s3_bytes": self.put_bytes,
            "dynamodb_batch_writes": self.batch_writes,
            "dynamodb_items": len(sizes),
            "dynamodb_write_units": sum(units),
            "dynamodb_item_bytes": sum(sizes),
            "max_write_units_per_item": max(units, default=0),
        }


# -- the ingestion ---------------------------------------------------------------------------------


def _layout(columns: list[str] | None) -> Any:
    from sellerstream.config import ReportFinishedSettings
    from sellerstream.domain.reports import ReportRows, lookup_column

    retention = ReportFinishedSettings.report_rows_retention_days.default
    assert isinstance(retention, int)
    return ReportRows(
        seller_key=SELLER,
        report_id=REPORT_ID,
        report_type=REPORT_TYPE,
        expires_at=int(time.time()) + retention * 86400,
        lookup=lookup_column(REPORT_TYPE, columns or []),
        columns=tuple(columns or ()),
    )


def _ingest_with(path: Path, writer: Any) -> int:
    from sellerstream.logic.report_ingest import ingest, open_document, read_rows

    with path.open("rb") as stream:
        document_format, content = open_document(io.BufferedReader(stream), compressed=True)  # type: ignore[arg-type]
        rows = read_rows(document_format, content, "utf-8-sig")
        with writer.open(_layout(rows.columns)) as batches:
            progress = ingest(rows, batches.write, start_row=0, should_pause=lambda written: False)
    return progress.rows_written


def standin_ingest(path: Path, stand_in: StandIn | None = None) -> int:
    from sellerstream.adapters.reports import ReportRowWriter

    clients = stand_in or StandIn()
    rows = _ingest_with(
        path, ReportRowWriter(BUCKET, ROWS_TABLE, s3=lambda: clients, dynamodb=lambda: clients)
    )
    assert clients.puts == -(-rows // 1000) and clients.items > 0
    return rows


def sdk_ingest(path: Path) -> tuple[int, CannedAws]:
    from sellerstream.adapters.reports import ReportRowWriter

    canned = CannedAws()
    s3, dynamodb = canned.clients()
    rows = _ingest_with(path, ReportRowWriter(BUCKET, ROWS_TABLE, s3=lambda: s3, dynamodb=lambda: dynamodb))
    assert canned.puts == -(-rows // 1000)
    return rows, canned


def bill(counts: dict[str, Any], rows: int) -> dict[str, Any]:
    """Dollars per million rows from what the sdk pass sent (see the module's docstring)."""
    from sellerstream.config import ReportFinishedSettings

    retention = ReportFinishedSettings.report_rows_retention_days.default
    assert isinstance(retention, int)
    months = retention * 24 / HOURS_PER_MONTH
    per_million = 1e6 / rows
    dynamodb_bytes = counts["dynamodb_item_bytes"] + DYNAMODB_ITEM_OVERHEAD_BYTES * counts["dynamodb_items"]
    breakdown = {
        "s3_puts": counts["s3_puts"] * PRICES["s3_per_million_puts"] / 1e6,
        "dynamodb_writes": counts["dynamodb_write_units"]
        * PRICES["dynamodb_per_million_write_request_units"]
        / 1e6,
        "s3_storage": counts["s3_bytes"] / GB * PRICES["s3_storage_per_gb_month"] * months,
        "dynamodb_storage": dynamodb_bytes / GB * PRICES["dynamodb_storage_per_gb_month"] * months,
    }
    breakdown = {name: value * per_million for name, value in breakdown.items()}
    return {
        "usd_per_million_rows": sum(breakdown.values()),
        "rows_breakdown": breakdown,
        "retention_days": retention,
        "rows": rows,
        "sdk_requests": counts,
    }


def report_rows_bill(rows: int) -> dict[str, Any]:
    """The bill of report rows (``usd_per_million_rows``, ``rows_breakdown`` per service) from a
    generated report of ``rows`` rows ingested through the boto3 clients of the sdk pass."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"report-{rows}.tsv.gz"
        generate(path, rows)
        ingested, canned = sdk_ingest(path)
    assert ingested == rows
    return bill(canned.counts(), rows)


def lookup_reads(path: Path, seed: int = 7) -> dict[str, Any]:
    """Reads per ``ReportRowReader.find`` of sampled SKUs, over what an ingestion of ``path`` stored."""
    from sellerstream.adapters.reports import ReportRowReader

    stand_in = StandIn(keep=True)
    rows = standin_ingest(path, stand_in)
    reader = ReportRowReader(ROWS_TABLE, BUCKET, s3=lambda: stand_in, dynamodb=lambda: stand_in)
    reads, found = [], 0
    for index in sorted(random.Random(seed).sample(range(rows), LOOKUP_SAMPLE)):
        stand_in.reads.clear()
        matches = reader.find(SELLER, REPORT_ID, f"SKU-{index:08d}")
        found += [match["sku"] for match in matches] == [f"SKU-{index:08d}"]
        reads.append(len(stand_in.reads))
    return {
        "sampled": LOOKUP_SAMPLE,
        "found_exactly": found,
        "max": max(reads),
        "mean": round(statistics.mean(reads), 2),
        "rows": rows,
    }


# -- measuring -------------------------------------------------------------------------------------


def _compared() -> dict[str, str]:
    """What the figures compare, printed and in ``--json``."""
    from sellerstream.adapters.reports import BLOCK_COMPRESS_LEVEL, WRITE_PARALLELISM

    return {
        "sdk": (
            "the ingestion path of logic/report_finished.py: open_document, read_rows, ReportRowWriter.open"
            f" ({WRITE_PARALLELISM} writer threads), ingest in 1,000-row chunks; each chunk one gzip block"
            f" (level {BLOCK_COMPRESS_LEVEL}) put to S3, each row's SKU a lookup entry, 1,024 buckets written"
            " as BatchWriteItem calls when the part ends; through boto3 clients answered by a before-send"
            " handler (requests validated, serialized, checksummed, signed); the clients made inside the"
            " timer; the report handler imported first, as in a container"
        ),
        "ours": "the same ingestion, both clients an in-memory stand-in that accepts every call (no SDK)",
        "bare": "gzip.open (text mode) + csv.reader (tab, no quoting), counting rows",
        "timing": "CPU seconds of the process (every thread) and wall clock, from after the imports to the"
        " last row stored, a fresh process per pass",
        "ratio": "rows/s / bare rows/s in the same round; median over interleaved rounds",
    }


def measure(kind: str, path: Path) -> dict[str, Any]:
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
    canned: CannedAws | None = None
    if kind == "bare":
        rows = bare_read(path)
    elif kind == "sdk":
        rows, canned = sdk_ingest(path)
    else:
        rows = standin_ingest(path)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    figures: dict[str, Any] = {
        "rows": rows,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "import_seconds": import_seconds,
    }
    if canned is not None:
        figures["counts"] = canned.counts()  # after the timer: the bill is not the ingestion's cost
    print(json.dumps(figures))


def _compare(path: Path, size: int, rounds: int) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {"bare": [], "ours": [], "sdk": []}
    for _ in range(rounds):
        for kind, passes in runs.items():
            passes.append(measure(kind, path))
            assert passes[-1]["rows"] == size

    def rates(kind: str) -> list[float]:
        return [size / run["seconds"] for run in runs[kind]]

    def ratios(kind: str) -> list[float]:
        return [ours / bare for ours, bare in zip(rates(kind), rates("bare"), strict=True)]

    def median(kind: str, name: str) -> float:
        return float(statistics.median(run[name] for run in runs[kind]))

    return {
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "sdk_rows_per_s": round(statistics.median(rates("sdk"))),
        "sdk_cpu_s": round(median("sdk", "cpu_seconds"), 2),
        "sdk_ratio_to_bare": round(statistics.median(ratios("sdk")), 3),
        "sdk_ratio_to_bare_rounds": [round(ratio, 3) for ratio in ratios("sdk")],
        "sdk_peak_rss_mb": round(max(run["peak_rss_mb"] for run in runs["sdk"]), 1),
        "ours_rows_per_s": round(statistics.median(rates("ours"))),
        "ours_cpu_s": round(median("ours", "cpu_seconds"), 2),
        "ratio_to_bare": round(statistics.median(ratios("ours")), 3),
        "ratio_to_bare_rounds": [round(ratio, 3) for ratio in ratios("ours")],
        "ours_peak_rss_mb": round(max(run["peak_rss_mb"] for run in runs["ours"]), 1),
        "bare_rows_per_s": round(statistics.median(rates("bare"))),
        "bare_cpu_s": round(median("bare", "cpu_seconds"), 2),
        "bare_peak_rss_mb": round(max(run["peak_rss_mb"] for run in runs["bare"]), 1),
        "ours_import_s": round(median("sdk", "import_seconds"), 2),
        "counts": runs["sdk"][0]["counts"],  # the same in every round: deterministic
    }


def main(as_json: bool, rounds: int) -> None:
    say = (lambda text: None) if as_json else print
    say("report ingestion: generated flat files (gzip), rows in S3 blocks, lookups packed in DynamoDB")
    compared = _compared()
    for side, description in compared.items():
        say(f"  {side}: {description}")
    say(f"  rounds: {rounds}")
    say(
        f"{'rows':>10} {'file MB':>8} | {'sdk rows/s':>11} {'CPU s':>6} {'RSS':>6} | {'ours rows/s':>12} {'CPU s':>6}"
        f" | {'bare rows/s':>12} {'CPU s':>6} | sdk/bare ours/bare"
    )
    figures: dict[str, Any] = {"sizes": {}, "rounds": rounds, "compared": compared}
    with tempfile.TemporaryDirectory() as directory:
        for size in SIZES:
            path = Path(directory) / f"report-{size}.tsv.gz"
            generate(path, size)
            row = figures["sizes"][str(size)] = _compare(path, size, rounds)
            say(
                f"{size:>10,} {row['file_mb']:>8.1f} | {row['sdk_rows_per_s']:>11,} {row['sdk_cpu_s']:>6.2f}"
                f" {row['sdk_peak_rss_mb']:>4.0f}MB | {row['ours_rows_per_s']:>12,} {row['ours_cpu_s']:>6.2f}"
                f" | {row['bare_rows_per_s']:>12,} {row['bare_cpu_s']:>6.2f} | {row['sdk_ratio_to_bare']:.2f}x"
                f"    {row['ratio_to_bare']:.2f}x"
            )
        reads = lookup_reads(Path(directory) / f"report-{SIZES[0]}.tsv.gz")
    small, large = (figures["sizes"][str(size)] for size in SIZES)
    priced = bill(large.pop("counts"), SIZES[-1])
    small.pop("counts")
    figures.update(
        sdk_rows_per_second=large["sdk_rows_per_s"],
        sdk_seconds_per_million_rows=round(large["sdk_cpu_s"] * 1e6 / SIZES[-1], 2),
        usd_per_million_rows=round(priced["usd_per_million_rows"], 4),
        rows_breakdown={name: round(value, 5) for name, value in priced["rows_breakdown"].items()},
        sdk_requests=priced["sdk_requests"],
        retention_days=priced["retention_days"],
        lookup_reads=reads,
        rss_ratio_1m_to_100k=round(large["sdk_peak_rss_mb"] / small["sdk_peak_rss_mb"], 3),
        targets=TARGETS,
        prices=price_table(),
    )
    figures["meets_targets"] = {
        "usd_per_million_rows": figures["usd_per_million_rows"] <= TARGETS["usd_per_million_rows"],
        "sdk_seconds_per_million_rows": figures["sdk_seconds_per_million_rows"]
        <= TARGETS["sdk_seconds_per_million_rows"],
        "lookup_reads": reads["max"] <= TARGETS["lookup_reads"]
        and reads["found_exactly"] == reads["sampled"],
    }
    requests = priced["sdk_requests"]
    say(
        f"1M rows through boto3: {figures['sdk_seconds_per_million_rows']:.1f} CPU s (target <="
        f" {TARGETS['sdk_seconds_per_million_rows']:.0f}), {requests['s3_puts']:,} PUTs of"
        f" {requests['s3_bytes'] / 1e6:.1f} MB, {requests['dynamodb_items']:,} lookup items in"
        f" {requests['dynamodb_batch_writes']} BatchWriteItem calls, {requests['dynamodb_write_units']:,} write units"
        f" (at most {requests['max_write_units_per_item']} an item)"
    )
    say(
        f"per million rows: ${figures['usd_per_million_rows']:.4f} (target <= ${TARGETS['usd_per_million_rows']:.2f}; "
        + ", ".join(f"{name} ${value:.4f}" for name, value in figures["rows_breakdown"].items())
        + f"; storage for {priced['retention_days']} days; {price_table()['as_of']})"
    )
    say(
        f"lookups: {reads['found_exactly']}/{reads['sampled']} SKUs found exactly, at most {reads['max']} reads"
        f" (mean {reads['mean']}); peak RSS of the sdk pass, 1M rows vs 100k: {figures['rss_ratio_1m_to_100k']:.2f}x"
        f" (handler import, not timed: {large['ours_import_s']:.2f} s)"
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
