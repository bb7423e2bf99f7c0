//! The `trace:` block of a workload: replaying requests from a file.

use super::Ty::*;
use super::tables::block;
use super::{Block, key, required};

pub static TRACE: Block = block(
    "trace",
    "a trace",
    "write trace: { file: traces/requests.csv, column: TIMESTAMP }",
    &[
        required("file", File, "the trace: CSV with a header line, or JSON lines (one object per line)"),
        key(
            "format",
            Words(&["timestamps", "counts"]),
            "timestamps",
            "one request per line at its timestamp, or the number of requests in each `interval`",
        ),
        key(
            "lines",
            Words(&["csv", "jsonl"]),
            "by extension",
            "how lines are written: `.jsonl` and `.ndjson` files are JSON lines, others CSV",
        ),
        key(
            "column",
            Text,
            "the first column",
            "the column (CSV) or field (JSON lines) of the timestamp, or of the count; required for JSON lines",
        ),
        key(
            "unit",
            Words(&["datetime", "s", "ms"]),
            "detected",
            "timestamps are date-times (`2023-11-16 18:15:46.68`), seconds or milliseconds; \
             detected: seconds if the first is a number, else date-times",
        ),
        key("interval", Duration, "", "`counts`: the time each line counts requests over (required)"),
        key("speed", Number, "1", "trace time is divided by this: 2 replays twice as fast"),
        key(
            "scale",
            Number,
            "1",
            "each request is replayed ⌊scale⌋ times, and once more with probability scale − ⌊scale⌋",
        ),
        key("start", Duration, "0s", "the window starts this long after the trace's first timestamp (it is t = 0)"),
        key("end", Duration, "the trace's end", "the window ends this long after the trace's first timestamp"),
        key(
            "on_end",
            Words(&["stop", "loop"]),
            "stop",
            "when the window is over before the run: no more requests, or the window again",
        ),
        key("attributes", List(&Text), "", "numeric columns (fields) each request carries, for `per(NAME, 20us)`"),
    ],
);
