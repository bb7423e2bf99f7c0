//! Trace replay against the file it replays: times, counts, order,
//! windows, speed, scale, counts spread within their intervals, loops.

use super::*;
use crate::model::{Layout, OnEnd, TimeUnit, Trace, TraceFormat};
use std::sync::Arc;

fn trace(text: &str, format: TraceFormat, unit: TimeUnit) -> Trace {
    let bytes: Arc<[u8]> = text.as_bytes().into();
    let mut t = Trace {
        file: "mem.csv".into(),
        open: Arc::new(move || {
            let r: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(bytes.clone()));
            Ok(r)
        }),
        format,
        layout: Layout::Csv { value: 0, attrs: vec![1] },
        unit,
        interval: SimDuration::from_secs(60),
        speed: 1.0,
        scale: 1.0,
        start: SimDuration::ZERO,
        end: None,
        on_end: OnEnd::Stop,
        attr_slots: vec![0],
        window_count: 0,
        period: SimDuration::ZERO,
    };
    if format == TraceFormat::Counts {
        (t.layout, t.attr_slots) = (Layout::Csv { value: 0, attrs: vec![] }, vec![]);
    }
    rescan(&mut t);
    t
}

fn rescan(t: &mut Trace) {
    let s = scan(t).expect("the trace scans");
    (t.window_count, t.period) = (s.count, s.period);
}

/// Every arrival of a replay until `end`, with its attributes.
fn replay(t: &Trace, seed: u64, end: SimTime) -> Vec<(SimTime, Option<Attrs>)> {
    let mut st = TraceState::new(t, seed, "w", 1);
    let mut out = Vec::new();
    let mut now = SimTime::ZERO;
    while let Some(at) = next(t, &mut st, now, end) {
        assert!(at >= now, "arrivals in order");
        out.push((at, st.take_due()));
        now = at;
    }
    out
}

const STAMPS: &str = "TIMESTAMP,Tokens\n\
    2023-11-16 18:15:46.6805900,374\n\
    2023-11-16 18:15:50.9951690,396\n\
    \n\
    2023-11-16 18:15:51.2224670,879\n\
    2023-11-16 18:15:51.2224670,12\n\
    2023-11-16 18:16:06.0000000,7\n";

fn ns(s: &str) -> u64 {
    (date_time_ns(s).unwrap() - date_time_ns("2023-11-16 18:15:46.6805900").unwrap()) as u64
}

#[test]
fn timestamps_replay_in_order_at_their_times_divided_by_speed() {
    let mut t = trace(STAMPS, TraceFormat::Timestamps, TimeUnit::DateTime);
    assert_eq!(t.window_count, 5);
    let got = replay(&t, 1, SimTime::MAX);
    let want = [
        0,
        ns("2023-11-16 18:15:50.9951690"),
        ns("2023-11-16 18:15:51.2224670"),
        ns("2023-11-16 18:15:51.2224670"),
        ns("2023-11-16 18:16:06"),
    ];
    assert_eq!(got.iter().map(|g| g.0.0).collect::<Vec<_>>(), want);
    let tokens: Vec<f64> = got.iter().map(|g| g.1.as_ref().unwrap()[0]).collect();
    assert_eq!(tokens, [374.0, 396.0, 879.0, 12.0, 7.0]);
    t.speed = 4.0;
    let fast = replay(&t, 1, SimTime::MAX);
    assert_eq!(fast.iter().map(|g| g.0.0).collect::<Vec<_>>(), want.map(|w| (w as f64 / 4.0).round() as u64));
}

#[test]
fn a_window_keeps_exactly_its_lines_and_starts_at_zero() {
    let mut t = trace(STAMPS, TraceFormat::Timestamps, TimeUnit::DateTime);
    t.start = SimDuration::from_secs(4);
    t.end = Some(SimDuration::from_secs(5));
    rescan(&mut t);
    assert_eq!(t.window_count, 3);
    assert_eq!(t.period, SimDuration::from_secs(1));
    let got = replay(&t, 1, SimTime::MAX);
    let times: Vec<u64> = got.iter().map(|g| g.0.0).collect();
    let off = SimDuration::from_secs(4).0;
    assert_eq!(
        times,
        [
            ns("2023-11-16 18:15:50.9951690") - off,
            ns("2023-11-16 18:15:51.2224670") - off,
            ns("2023-11-16 18:15:51.2224670") - off
        ]
    );
}

#[test]
fn numbers_are_seconds_or_milliseconds_from_the_first() {
    let t = trace("t,x\n10,1\n10.5,2\n12,3\n", TraceFormat::Timestamps, TimeUnit::Seconds);
    let got: Vec<u64> = replay(&t, 1, SimTime::MAX).iter().map(|g| g.0.0).collect();
    assert_eq!(got, [0, 500_000_000, 2_000_000_000]);
    let t = trace("t,x\n10,1\n10.5,2\n12,3\n", TraceFormat::Timestamps, TimeUnit::Millis);
    let got: Vec<u64> = replay(&t, 1, SimTime::MAX).iter().map(|g| g.0.0).collect();
    assert_eq!(got, [0, 500_000, 2_000_000]);
}

fn many(n: usize) -> String {
    let mut s = String::from("t,x\n");
    for i in 0..n {
        s.push_str(&format!("{},{}\n", i as f64 * 0.01, i));
    }
    s
}

/// Scale 0.5 keeps each arrival with probability 1/2: over N = 10 000 the
/// count is Binomial(N, 1/2), sd = √N/2 = 50; 5 sd is 250 (a false alarm
/// about once in 3.5 million seeds). Scale 2 copies each exactly twice;
/// scale 1.5 is N + Binomial(N, 1/2).
#[test]
fn scale_thins_and_copies_within_binomial_bounds() {
    let n = 10_000usize;
    let mut t = trace(&many(n), TraceFormat::Timestamps, TimeUnit::Seconds);
    for seed in 1..=5 {
        t.scale = 0.5;
        let half = replay(&t, seed, SimTime::MAX).len() as f64;
        assert!((half - n as f64 / 2.0).abs() < 250.0, "seed {seed}: {half} kept of {n} at scale 0.5");
        t.scale = 2.0;
        let double = replay(&t, seed, SimTime::MAX);
        assert_eq!(double.len(), 2 * n);
        assert_eq!(double[0].0, double[1].0, "copies arrive together");
        t.scale = 1.5;
        let more = replay(&t, seed, SimTime::MAX).len() as f64;
        assert!((more - 1.5 * n as f64).abs() < 250.0, "seed {seed}: {more} at scale 1.5");
    }
    t.scale = 0.5;
    assert_eq!(replay(&t, 7, SimTime::MAX), replay(&t, 7, SimTime::MAX), "the same seed thins the same way");
}

/// Counts: each interval gets exactly its count, every arrival inside it,
/// spread uniformly: the mean position of m uniforms on [0, 1) is 1/2 with
/// sd 1/√(12 m); 5 sd bounds it.
#[test]
fn counts_spread_exactly_their_total_over_each_interval() {
    let counts = [300u64, 0, 1000, 7];
    let text = format!("count\n{}\n", counts.map(|c| c.to_string()).join("\n"));
    let t = trace(&text, TraceFormat::Counts, TimeUnit::Seconds);
    assert_eq!(t.window_count, 1307);
    assert_eq!(t.period, SimDuration::from_secs(240));
    let got = replay(&t, 3, SimTime::MAX);
    for (i, &c) in counts.iter().enumerate() {
        let (lo, hi) = (i as u64 * 60_000_000_000, (i as u64 + 1) * 60_000_000_000);
        let inside: Vec<f64> =
            got.iter().filter(|g| g.0.0 >= lo && g.0.0 < hi).map(|g| (g.0.0 - lo) as f64 / 60e9).collect();
        assert_eq!(inside.len() as u64, c, "interval {i}");
        if c >= 300 {
            let mean = inside.iter().sum::<f64>() / c as f64;
            assert!((mean - 0.5).abs() < 5.0 / (12.0 * c as f64).sqrt(), "interval {i}: mean place {mean}");
        }
    }
    assert_eq!(got.len(), 1307);
}

#[test]
fn on_end_stops_or_loops_the_window() {
    let mut t = trace("t,x\n0,1\n1,2\n2,3\n3,4\n", TraceFormat::Timestamps, TimeUnit::Seconds);
    assert_eq!(t.period, SimDuration::from_secs(4), "the span and one mean gap");
    let end = SimTime(SimDuration::from_secs(10).0);
    assert_eq!(replay(&t, 1, end).len(), 4);
    t.on_end = OnEnd::Loop;
    let got: Vec<u64> = replay(&t, 1, end).iter().map(|g| g.0.0 / 1_000_000_000).collect();
    assert_eq!(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
}

#[test]
fn scan_names_the_bad_line() {
    let mut t = trace("t,x\n1,1\n2,2\n", TraceFormat::Timestamps, TimeUnit::Seconds);
    let bytes: Arc<[u8]> = b"t,x\n1,1\n\n3,2\n2,3\n".as_slice().into();
    t.open = Arc::new(move || Ok(Box::new(std::io::Cursor::new(bytes.clone())) as Box<dyn BufRead + Send>));
    let e = scan(&t).unwrap_err();
    assert_eq!(e.line, 5);
    assert!(e.message.contains("before the one on line 4"), "{}", e.message);
    let bytes: Arc<[u8]> = b"t,x\n1,1\nsoon,2\n".as_slice().into();
    t.open = Arc::new(move || Ok(Box::new(std::io::Cursor::new(bytes.clone())) as Box<dyn BufRead + Send>));
    let e = scan(&t).unwrap_err();
    assert_eq!((e.line, e.message.as_str()), (3, "cannot read 'soon' as a timestamp in seconds"));
}

#[test]
fn date_times_read_to_the_nanosecond() {
    let a = date_time_ns("2023-11-16 18:15:46.6805900").unwrap();
    let b = date_time_ns("2023-11-16T18:15:47Z").unwrap();
    assert_eq!(b - a, 319_410_000);
    assert_eq!(date_time_ns("1970-01-02 00:00:00"), Some(86_400_000_000_000));
    let leap = date_time_ns("2024-03-01 00:00:00").unwrap() - date_time_ns("2024-02-28 00:00:00").unwrap();
    assert_eq!(leap, 2 * 86_400_000_000_000);
    for bad in ["2023-11-16", "2023-13-01 00:00:00", "2023-11-16 18:15:46.", "2023-11-16 18:15:4x", "yesterday"] {
        assert_eq!(date_time_ns(bad), None, "{bad}");
    }
}

#[test]
fn csv_fields_are_trimmed_and_unquoted() {
    assert_eq!(csv_fields(" a ,\"b\",3").collect::<Vec<_>>(), ["a", "b", "3"]);
}
