"""Report ingestion throughput and memory, against a bare gzip + csv read of the same file.

For generated flat-file reports of 100k and 1M rows (gzip, Amazon's tab-delimited layout) this
prints, per size: rows/s and peak RSS of SellerStream's ingestion (streamed gunzip, row parsing,
DynamoDB item serialisation and 25-item batches through the real RowWriter) and of a bare
``gzip`` + ``csv.reader`` pass over the same file, measured in the same run, each in a fresh
process. Storage is an in-memory stand-in for DynamoDB's BatchWriteItem (it accepts every batch):
the figure is SellerStream's own cost, not DynamoDB's or moto's.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SIZES = (100_000, 1_000_000)


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

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        self.items += sum(len(requests) for requests in RequestItems.values())
        return {"UnprocessedItems": {}}


def sellerstream_ingest(path: Path) -> int:
    from sellerstream import aws
    from sellerstream.logic.report_ingest import ingest, iter_rows, open_document
    from sellerstream.store.reports import RowWriter

    table = InMemoryDynamoDB()
    aws.client.cache_clear()
    aws.client = lambda service: table  # type: ignore[assignment]
    writer = RowWriter("report-rows")
    with path.open("rb") as stream:
        document_format, content = open_document(io.BufferedReader(stream), compressed=True)  # type: ignore[arg-type]
        progress = ingest(
            iter_rows(document_format, content),
            lambda chunk: writer.write("SELLER", "REPORT", chunk),
            start_row=0,
            should_pause=lambda rows: False,
            document_format=document_format,
        )
    assert table.items == progress.rows_written
    return progress.rows_written


def measure(kind: str, path: Path) -> dict[str, float]:
    """Runs one measurement in a fresh interpreter, so peak RSS belongs to that pass alone."""
    output = subprocess.run(
        [sys.executable, __file__, "--measure", kind, str(path)], check=True, capture_output=True, text=True
    ).stdout
    return dict(json.loads(output))


def _measure_here(kind: str, path: Path) -> None:
    started = time.perf_counter()
    rows = bare_read(path) if kind == "bare" else sellerstream_ingest(path)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_rss_mb": peak_mb}))


def main() -> None:
    print("report ingestion: generated flat files (gzip), storage = in-memory BatchWriteItem stand-in")
    print(
        f"{'rows':>10} {'file MB':>8} | {'ours rows/s':>12} {'peak RSS':>9} | {'bare rows/s':>12} {'peak RSS':>9} | ratio"
    )
    with tempfile.TemporaryDirectory() as directory:
        for size in SIZES:
            path = Path(directory) / f"report-{size}.tsv.gz"
            generate(path, size)
            bare = measure("bare", path)
            ours = measure("ours", path)
            assert bare["rows"] == ours["rows"] == size
            ours_rate, bare_rate = size / ours["seconds"], size / bare["seconds"]
            print(
                f"{size:>10,} {path.stat().st_size / 1e6:>8.1f} | {ours_rate:>12,.0f} {ours['peak_rss_mb']:>7.0f}MB"
                f" | {bare_rate:>12,.0f} {bare['peak_rss_mb']:>7.0f}MB | {ours_rate / bare_rate:.2f}x bare"
            )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--measure":
        _measure_here(sys.argv[2], Path(sys.argv[3]))
    else:
        main()
