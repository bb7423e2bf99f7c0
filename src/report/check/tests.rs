//! Tests of the `check` report: bounded output and time on graphs with
//! exponentially many call paths.

use super::*;

/// `layers` diamonds in a chain: `t{i}` calls `l{i}` and `r{i}`, both call
/// `t{i+1}`; `r{i}` retries (2 attempts). `t{layers}` does the work.
/// Paths from `t0` to the bottom: 2^layers.
fn diamonds(layers: usize) -> String {
    let mut y = String::from("duration: 10s\nservices:\n");
    for i in 0..layers {
        let n = i + 1;
        y += &format!(
            "  t{i}: {{ endpoints: {{ e: {{ steps: [ {{ work: 1us }}, {{ call: l{i}.e }}, {{ call: r{i}.e }} ] }} }} }}\n"
        );
        y += &format!("  l{i}: {{ endpoints: {{ e: {{ steps: [ {{ call: t{n}.e }} ] }} }} }}\n");
        y += &format!(
            "  r{i}: {{ endpoints: {{ e: {{ steps: [ {{ call: t{n}.e, retry: {{ attempts: 2 }} }} ] }} }} }}\n"
        );
    }
    y += &format!("  t{layers}: {{ endpoints: {{ e: {{ work: 1us }} }} }}\n");
    // 2^40 visits of 1 µs an hour keep the bottom 31% busy: no load finding.
    y + "workload: [ { name: w, target: t0.e, rate: 1/h } ]\n"
}

/// Lines of the call tree (those drawn with `├─` or `└─`).
fn tree_lines(report: &str) -> usize {
    report.lines().filter(|l| l.contains("├─ ") || l.contains("└─ ")).count()
}

/// 2^40 paths: anything that walked them would never finish, so finishing
/// at all is the bound (no clock is read: timing belongs in benchmarks).
#[test]
fn forty_diamonds_are_checked_with_one_line_per_call_site() {
    let m = crate::spec::testing::model(&diamonds(40));
    let a = analyze(&m);
    let report = check_report(&m, &a);
    assert_eq!(m.edges.len(), 4 * 40);
    assert_eq!(tree_lines(&report), m.edges.len(), "{report}");
    assert_eq!(
        report.matches("(see above)").count(),
        39,
        "the second way into t1 … t39 (t40 makes no calls): {report}"
    );
    assert!(report.contains("└─ t1.e  ×1.000/request  [≤2 attempts]  (see above)"), "{report}");
    assert!(report.contains("└─ t1.e  ×1.000/request  [×2.000/request over all paths]\n"), "{report}");
    // Every line is a header, a tree line, a table row (visits, worst-case
    // attempts, load) or a finding.
    let rows = m.services.len() * 3 + 40;
    assert!(report.lines().count() <= m.edges.len() + rows, "{} lines", report.lines().count());
    // 2^40 paths reach the bottom: 2^40 calls, 3^40 attempts (1 + 2 per layer).
    let bottom = m.services.iter().position(|s| s.name == "t40").expect("t40");
    assert_eq!(a.visits[0][m.services[bottom].endpoints[0].ix()], 2f64.powi(40));
    assert_eq!(a.worst_calls[0][bottom], 2f64.powi(40));
    let want = 3f64.powi(40);
    assert!((a.worst_attempts[0][bottom] - want).abs() <= 1e-12 * want, "{}", a.worst_attempts[0][bottom]);
    assert_eq!(a.worst_path[0][bottom], vec![2.0; 40]);
    assert_eq!(a.max_depth[0], 80);
}

#[test]
fn the_tree_grows_linearly_with_the_layers() {
    let lines = |layers| {
        let m = crate::spec::testing::model(&diamonds(layers));
        check_report(&m, &analyze(&m)).lines().count()
    };
    let (l10, l20, l30) = (lines(10), lines(20), lines(30));
    assert_eq!(l30 - l20, l20 - l10, "{l10} {l20} {l30}");
}

/// The lines of the table under the line starting with `title`: its header
/// and rows, up to the next line that is not indented as deep.
fn table_after<'a>(report: &'a str, title: &str) -> Vec<&'a str> {
    let mut lines = report.lines().skip_while(|l| !l.trim_start().starts_with(title)).skip(1).peekable();
    let indent = lines.peek().map_or(0, |l| l.len() - l.trim_start().len());
    lines.take_while(|l| l.len() - l.trim_start().len() >= indent && !l.trim().is_empty()).collect()
}

#[test]
fn tables_of_huge_counts_keep_their_columns_apart() {
    let m = crate::spec::testing::model(&diamonds(40));
    let report = check_report(&m, &analyze(&m));
    let worst = table_after(&report, "worst-case attempts per request (");
    assert_eq!(worst.len(), 1 + m.services.len(), "{report}");
    crate::report::table::testing::assert_aligned(&worst, 4);
    assert!(worst.iter().any(|r| r.contains("17,179,869,184")), "{report}");
    let visits = table_after(&report, "expected visits per request");
    crate::report::table::testing::assert_aligned(&visits, 2);
    assert!(report.contains("(40 layers retrying, 2 attempts each, times"), "{report}");
    assert!(report.contains("makes 4,398,046,511,100 downstream calls"), "{report}");
}

/// web (400/s, diurnal up to ×3) → api → db (1.5 ms a visit, 1 core);
/// `api_keys` go into api's service block.
fn shaped(api_keys: &str) -> Model {
    crate::spec::testing::model(&format!(
        "duration: 1h
services:
  api: {{ {api_keys} endpoints: {{ e: {{ steps: [ {{ work: 1ms }}, {{ call: db.q, retry: {{ attempts: 3 }} }} ] }} }} }}
  db: {{ endpoints: {{ q: {{ work: 1500us }} }} }}
workload:
  - name: web
    target: api.e
    rate: 400/s
    shape: [ {{ diurnal: {{ period: 1h, min: 1, max: 3, peak_at: 30m }} }} ]
"
    ))
}

#[test]
fn load_findings_say_where_and_how_many_replicas() {
    let m = shaped("replicas: 2,");
    let report = check_report(&m, &analyze(&m));
    assert!(
        report.contains(
            "  - db would be 180% busy at the peak of web's shape (1,200 req/s): it needs at least 2 replicas of 1 core\n"
        ),
        "{report}"
    );
    assert!(report.contains("first attempts only — retries and hedges add to it"), "{report}");
    // api: 1,200/s × 1 ms on 2 cores is 60%: no finding.
    assert!(!report.contains("api would be"), "{report}");
    let workloads = table_after(&report, "estimated load");
    assert_eq!(workloads[1], "  web         400    1,200  peak of its shape over the run", "{report}");
    let services: Vec<&str> =
        report.lines().skip_while(|l| !l.starts_with("  service  cores")).take_while(|l| !l.is_empty()).collect();
    crate::report::table::testing::assert_aligned(&services, 5);
    assert_eq!(services[2], "  db         1×1        0.60   60%     180%", "{report}");
}

#[test]
fn an_autoscaled_service_is_judged_at_its_start_and_at_its_max() {
    let m = shaped("cpus: 1, autoscale: { min: 1, max: 4 },");
    let report = check_report(&m, &analyze(&m));
    assert!(
        report.contains(
            "api would be 120% busy at the peak of web's shape (1,200 req/s) on its 1 replica at the start: \
             the autoscaler must reach at least 2 replicas of 1 core (max 4)"
        ),
        "{report}"
    );
    let m = shaped("autoscale: { min: 1, max: 1 },");
    let report = check_report(&m, &analyze(&m));
    assert!(
        report.contains(
            "api would be 120% busy at the peak of web's shape (1,200 req/s) even at autoscale.max \
             (1 replica of 1 core): it needs at least 2 replicas"
        ),
        "{report}"
    );
    let m = shaped("cpus: 1, autoscale: { min: 1, max: 2 },");
    let report = check_report(&m, &analyze(&m));
    assert!(report.contains("\n  api        1×1        0.40   40%     120%           2×1          60%\n"), "{report}");
    assert!(report.contains("\n  db         1×1        0.60   60%     180%             —            —\n"), "{report}");
}

#[test]
fn a_closed_loop_is_an_upper_bound_in_words() {
    let m = crate::spec::testing::model(
        "duration: 10s
services: { s: { endpoints: { e: { work: 10ms } } } }
workload: [ { name: users, target: s.e, users: 30, think: exp(100ms) } ]
",
    );
    let report = check_report(&m, &analyze(&m));
    assert!(
        report.contains(
            "s would be up to 300% busy at users' bound (≤300 req/s: 30 users / 100ms mean think): it needs at least \
             4 replicas of 1 core — an upper bound: a closed loop slows down to what it is served instead"
        ),
        "{report}"
    );
    assert!(
        report.contains("\n  users      ≤300  closed loop, upper bound: 30 users / 100ms mean think\n"),
        "{report}"
    );
}
