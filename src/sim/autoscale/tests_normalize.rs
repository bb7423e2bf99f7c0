//! Upstream's normalization vectors from `horizontal_test.go` (hpa.md §9
//! V9, V10 and `TestStoreScaleEvents`), each named after its upstream
//! test; times are relative to `NOW`, as upstream's `time.Now()`.

use super::normalize::*;
use super::*;
use crate::model::{Behavior, PolicyKind, ScalingPolicy, ScalingRules, SelectPolicy};

const NOW: SimTime = SimTime(86_400 * 1_000_000_000);

fn ago(secs: u64) -> SimTime {
    SimTime(NOW.0 - secs * 1_000_000_000)
}

fn secs(s: u64) -> SimDuration {
    SimDuration::from_secs(s)
}

/// `generateScalingRules`: select Max, a Pods and/or a Percent policy.
fn rules(pods: u32, pods_period: u64, percent: u32, percent_period: u64, window: u64) -> ScalingRules {
    let mut policies = Vec::new();
    if pods != 0 {
        policies.push(ScalingPolicy { kind: PolicyKind::Pods, value: pods, period: secs(pods_period) });
    }
    if percent != 0 {
        policies.push(ScalingPolicy { kind: PolicyKind::Percent, value: percent, period: secs(percent_period) });
    }
    ScalingRules { stabilization: secs(window), select: SelectPolicy::Max, policies }
}

/// Both directions, defaulted where `None` (scale-down window 300 s).
fn behavior(up: Option<ScalingRules>, down: Option<ScalingRules>) -> Behavior {
    Behavior {
        scale_up: up.unwrap_or_else(ScalingRules::default_up),
        scale_down: down.unwrap_or_else(|| ScalingRules::default_down(secs(300))),
    }
}

/// `generateEventsUniformDistribution`: events at the centres of equal
/// segments of the last `period` seconds (whole seconds, truncated).
fn spread(changes: &[i32], period: u64) -> Vec<ScaleEvent> {
    let seg = period as f64 / changes.len() as f64;
    changes
        .iter()
        .enumerate()
        .map(|(i, &change)| {
            let back = (period as f64 - seg * (i + 1) as f64 + seg / 2.0) as u64;
            ScaleEvent { change, at: ago(back), outdated: false }
        })
        .collect()
}

fn recs(list: &[(i32, u64)]) -> Vec<Recommendation> {
    list.iter().map(|&(replicas, back)| Recommendation { replicas, at: ago(back) }).collect()
}

/// V9, behavior path: (recs, current, desired, up window, down window,
/// expected, recommendations after as values or `None`).
#[test]
fn test_normalize_desired_replicas_with_behavior() {
    type Case = (&'static str, Vec<(i32, u64)>, i32, i32, u64, u64, i32, Option<Vec<i32>>);
    let cases: Vec<Case> = vec![
        ("S-1 scale down stabilization", vec![(4, 120), (5, 60)], 100, 3, 0, 180, 5, Some(vec![4, 5, 3])),
        ("S-2 scale up stabilization", vec![(4, 120), (5, 60)], 1, 7, 300, 0, 4, Some(vec![4, 5, 7])),
        ("S-3 no scale down (history above)", vec![(2, 6000), (3, 180)], 2, 1, 300, 300, 2, None),
        ("S-4 no scale up (history below)", vec![(2, 6000), (1, 180)], 2, 3, 300, 300, 2, None),
        (
            "S-5 reuse stale slot",
            vec![(10, 6000), (6, 60), (5, 120), (9, 180)],
            1,
            100,
            300,
            0,
            5,
            Some(vec![100, 6, 5, 9]),
        ),
        ("S-6 reuse the last stale slot", vec![(10, 600), (9, 540)], 100, 3, 0, 0, 3, Some(vec![10, 3])),
    ];
    for (name, history, current, desired, up_w, down_w, expected, after) in cases {
        let b = behavior(Some(rules(4, 15, 100, 15, up_w)), Some(rules(0, 0, 100, 15, down_w)));
        let mut r = recs(&history);
        let (stab, _) = stabilize_with_behavior(&mut r, NOW, &b, current, desired);
        assert_eq!(stab, expected, "{name}");
        if let Some(after) = after {
            assert_eq!(r.iter().map(|x| x.replicas).collect::<Vec<_>>(), after, "{name}");
            assert!(r.iter().any(|x| x.replicas == desired && x.at == NOW), "{name}: stored at now");
        }
        // The rate limits of the default policies do not bind in these cases.
        let (out, _) = convert_with_behavior_rate(NOW, current, stab, 1, 1000, &[], &[], &b);
        assert_eq!(out, expected, "{name}: after rate limits");
    }
}

#[test]
fn test_normalize_desired_replicas_with_behavior_reasons() {
    let b = behavior(Some(rules(4, 15, 100, 15, 300)), Some(rules(0, 0, 100, 15, 300)));
    let mut r = recs(&[(4, 120), (5, 60)]);
    assert_eq!(stabilize_with_behavior(&mut r, NOW, &b, 1, 7), (4, Stabilization::ScaleUpStabilized));
    let mut r = recs(&[(4, 120), (5, 60)]);
    assert_eq!(stabilize_with_behavior(&mut r, NOW, &b, 10, 3), (5, Stabilization::ScaleDownStabilized));
    let mut r = recs(&[]);
    assert_eq!(stabilize_with_behavior(&mut r, NOW, &b, 10, 3), (3, Stabilization::None));
}

/// V9 L-1 and the rest of `TestNormalizeDesiredReplicas` (legacy, 5 min).
#[test]
fn test_normalize_desired_replicas() {
    type Case = (&'static str, Vec<(i32, u64)>, i32, i32, usize);
    let cases: [Case; 5] = [
        ("empty log", vec![], 5, 5, 1),
        ("stabilize", vec![(4, 120), (5, 60)], 3, 5, 3),
        ("no stabilize", vec![(1, 120), (2, 60)], 3, 3, 3),
        ("no stabilize - old recommendations", vec![(10, 600), (9, 540)], 3, 3, 2),
        ("L-1 stabilize - old recommendations", vec![(10, 600), (4, 60), (5, 120), (9, 540)], 3, 5, 4),
    ];
    for (name, history, desired, expected, len) in cases {
        let mut r = recs(&history);
        assert_eq!(stabilize_legacy(&mut r, NOW, secs(300), desired), expected, "{name}");
        assert_eq!(r.len(), len, "{name}");
    }
    // The legacy window is inclusive: a recommendation exactly 5 min old counts.
    let mut r = recs(&[(9, 300)]);
    assert_eq!(stabilize_legacy(&mut r, NOW, secs(300), 3), 9);
    let mut r = recs(&[(9, 301)]);
    assert_eq!(stabilize_legacy(&mut r, NOW, secs(300), 3), 3);
}

/// V10: `TestScalingWithRules` (`convertDesiredReplicasWithBehaviorRate`).
#[test]
fn test_scaling_with_rules() {
    type Case = (
        &'static str,
        Vec<ScaleEvent>,
        Vec<ScaleEvent>,
        i32,
        i32,
        Option<ScalingRules>,
        Option<ScalingRules>,
        i32,
        i32,
        i32,
        &'static str,
    );
    let n = Vec::new;
    let e = |c: &[i32]| spread(c, 120);
    let cases: Vec<Case> = vec![
        ("within range", n(), n(), 3, 8, None, None, 5, 7, 7, "DesiredWithinRange"),
        ("< minReplicas", n(), n(), 2, 8, None, None, 3, 1, 2, "TooFewReplicas"),
        ("within range, min 0", n(), n(), 0, 10, None, None, 1, 0, 0, "DesiredWithinRange"),
        ("maxReplicas < scaleUpLimit", n(), n(), 1, 10, None, None, 20, 1000, 10, "TooManyReplicas"),
        ("more than max", n(), n(), 100, 150, None, None, 100, 1000, 150, "TooManyReplicas"),
        ("user scaleUpLimit", n(), n(), 1, 2000, Some(rules(0, 0, 1, 60, 0)), None, 3, 1000, 4, "ScaleUpLimit"),
        ("user scaleDownLimit", n(), n(), 3, 2000, None, Some(rules(20, 60, 0, 0, 0)), 1000, 3, 980, "ScaleDownLimit"),
        ("scaleUp default behavior", n(), n(), 1, 1000, None, None, 10, 50, 20, "ScaleUpLimit"),
        ("pods > percent", n(), n(), 1, 1000, Some(rules(100, 60, 100, 60, 0)), None, 10, 500, 110, "ScaleUpLimit"),
        ("percent > pods", n(), n(), 1, 1000, Some(rules(2, 60, 100, 60, 0)), None, 10, 500, 20, "ScaleUpLimit"),
        ("large pod policy", n(), n(), 1, 1000, Some(rules(100, 60, 0, 0, 0)), None, 10, 50, 50, "DesiredWithinRange"),
        (
            "large percent policy",
            n(),
            n(),
            1,
            1000,
            Some(rules(10000, 60, 0, 0, 0)),
            None,
            10,
            50,
            50,
            "DesiredWithinRange",
        ),
        ("pod policy limitation", n(), n(), 1, 1000, Some(rules(30, 60, 0, 0, 0)), None, 10, 50, 40, "ScaleUpLimit"),
        (
            "percent policy limitation",
            n(),
            n(),
            1,
            1000,
            Some(rules(0, 0, 200, 60, 0)),
            None,
            10,
            50,
            30,
            "ScaleUpLimit",
        ),
        (
            "down: pods vs percent (Max)",
            n(),
            n(),
            1,
            1000,
            None,
            Some(rules(20, 60, 1, 60, 300)),
            100,
            2,
            80,
            "ScaleDownLimit",
        ),
        ("down: pod > percent", n(), n(), 1, 1000, None, Some(rules(2, 60, 1, 60, 300)), 100, 2, 98, "ScaleDownLimit"),
        (
            "down: min=nil, large pods",
            n(),
            n(),
            1,
            1000,
            None,
            Some(rules(100, 60, 0, 0, 300)),
            10,
            0,
            1,
            "TooFewReplicas",
        ),
        (
            "down: min, large percent",
            n(),
            n(),
            5,
            1000,
            None,
            Some(rules(0, 0, 100, 60, 300)),
            10,
            2,
            5,
            "TooFewReplicas",
        ),
        (
            "down: pod policy limitation",
            n(),
            n(),
            1,
            1000,
            None,
            Some(rules(5, 60, 0, 0, 300)),
            10,
            2,
            5,
            "ScaleDownLimit",
        ),
        (
            "down: percent policy limitation",
            n(),
            n(),
            1,
            1000,
            None,
            Some(rules(0, 0, 50, 60, 300)),
            10,
            5,
            5,
            "DesiredWithinRange",
        ),
        (
            "max clamps, pods + events",
            e(&[1, 5, 9]),
            n(),
            1,
            200,
            Some(rules(300, 60, 0, 0, 0)),
            None,
            100,
            500,
            200,
            "TooManyReplicas",
        ),
        (
            "max clamps, percent + events",
            e(&[1, 5, 9]),
            n(),
            1,
            200,
            Some(rules(0, 0, 10000, 60, 0)),
            None,
            100,
            500,
            200,
            "TooManyReplicas",
        ),
        (
            "limit floored at current",
            e(&[1, 5, 9]),
            n(),
            1,
            1000,
            Some(rules(5, 120, 0, 0, 0)),
            None,
            100,
            500,
            100,
            "ScaleUpLimit",
        ),
        (
            "pod policy + previous up events",
            e(&[1, 5, 9]),
            n(),
            1,
            1000,
            Some(rules(150, 120, 0, 0, 0)),
            None,
            100,
            500,
            235,
            "ScaleUpLimit",
        ),
        (
            "percent + previous up events",
            e(&[1, 5, 9]),
            n(),
            1,
            1000,
            Some(rules(0, 0, 200, 120, 0)),
            None,
            100,
            500,
            255,
            "ScaleUpLimit",
        ),
        (
            "up and down history",
            e(&[4]),
            e(&[2]),
            1,
            1000,
            Some(rules(0, 0, 300, 300, 0)),
            None,
            6,
            24,
            16,
            "ScaleUpLimit",
        ),
        ("down default + events", n(), e(&[1, 5, 9]), 1, 1000, None, None, 10, 5, 5, "DesiredWithinRange"),
        (
            "down min=nil, pods + events",
            n(),
            e(&[1, 5, 9]),
            1,
            1000,
            None,
            Some(rules(115, 120, 0, 0, 300)),
            100,
            0,
            1,
            "TooFewReplicas",
        ),
        (
            "down min, pods + events",
            n(),
            e(&[1, 5, 9]),
            5,
            1000,
            None,
            Some(rules(130, 120, 0, 0, 300)),
            100,
            0,
            5,
            "TooFewReplicas",
        ),
        (
            "down min, percent + events",
            n(),
            e(&[1, 5, 9]),
            5,
            1000,
            None,
            Some(rules(0, 0, 100, 120, 300)),
            100,
            2,
            5,
            "TooFewReplicas",
        ),
        (
            "down pods + events",
            n(),
            e(&[1, 5, 9]),
            1,
            1000,
            None,
            Some(rules(5, 120, 0, 0, 300)),
            100,
            2,
            100,
            "ScaleDownLimit",
        ),
        (
            "down percent + history",
            n(),
            e(&[2, 4, 6]),
            1,
            1000,
            None,
            Some(rules(0, 0, 50, 120, 300)),
            100,
            0,
            56,
            "ScaleDownLimit",
        ),
        (
            "down percent, up and down events",
            e(&[2]),
            e(&[4]),
            1,
            1000,
            None,
            Some(rules(0, 0, 50, 180, 0)),
            10,
            1,
            6,
            "ScaleDownLimit",
        ),
        (
            "history blocks scale-down",
            n(),
            e(&[10, 10, 10]),
            1,
            1000,
            None,
            Some(rules(0, 0, 10, 120, 300)),
            100,
            0,
            100,
            "ScaleDownLimit",
        ),
        (
            "history still allows scale-down",
            n(),
            e(&[10, 10, 10]),
            1,
            1000,
            None,
            Some(rules(0, 0, 1000, 120, 300)),
            10,
            5,
            5,
            "DesiredWithinRange",
        ),
        (
            "outdated, one policy, up",
            e(&[8, 12, 9, 11]),
            n(),
            1,
            1000,
            Some(rules(1000, 60, 0, 0, 0)),
            None,
            100,
            200,
            200,
            "DesiredWithinRange",
        ),
        (
            "not outdated, two policies, up",
            e(&[8, 12, 9, 11]),
            n(),
            1,
            1000,
            Some(rules(1000, 120, 100, 60, 0)),
            None,
            100,
            200,
            200,
            "DesiredWithinRange",
        ),
        (
            "outdated, two policies, up",
            e(&[8, 12, 9, 11]),
            n(),
            1,
            1000,
            Some(rules(1000, 30, 100, 60, 0)),
            None,
            100,
            200,
            200,
            "DesiredWithinRange",
        ),
        (
            "outdated, one policy, down",
            n(),
            e(&[8, 12, 9, 11]),
            1,
            1000,
            None,
            Some(rules(1000, 60, 0, 0, 300)),
            100,
            5,
            5,
            "DesiredWithinRange",
        ),
        (
            "not outdated, two policies, down",
            n(),
            e(&[8, 12, 9, 11]),
            1,
            1000,
            None,
            Some(rules(1000, 120, 100, 60, 300)),
            100,
            5,
            5,
            "DesiredWithinRange",
        ),
        (
            "outdated, two policies, down",
            n(),
            e(&[8, 12, 9, 11]),
            1,
            1000,
            None,
            Some(rules(1000, 30, 100, 60, 300)),
            100,
            5,
            5,
            "DesiredWithinRange",
        ),
    ];
    for (name, up, down, min, max, up_rules, down_rules, current, desired, expected, condition) in cases {
        let b = behavior(up_rules, down_rules);
        let (out, limit) = convert_with_behavior_rate(NOW, current, desired, min, max, &up, &down, &b);
        assert_eq!((out, limit.reason()), (expected, condition), "{name}");
    }
}

#[test]
fn test_scaling_with_rules_names_the_limiting_policy() {
    let b = behavior(Some(rules(100, 60, 100, 60, 0)), None);
    let (_, limit) = convert_with_behavior_rate(NOW, 10, 500, 1, 1000, &[], &[], &b);
    assert_eq!(limit, Limit::ScaleUpLimit(LimitedBy::Policy(0)), "pods 100 beats 100%");
    let b = behavior(Some(rules(2, 60, 100, 60, 0)), None);
    let (_, limit) = convert_with_behavior_rate(NOW, 10, 500, 1, 1000, &[], &[], &b);
    assert_eq!(limit, Limit::ScaleUpLimit(LimitedBy::Policy(1)));
    let mut off = rules(4, 15, 0, 0, 0);
    off.select = SelectPolicy::Disabled;
    let b = behavior(Some(off), None);
    assert_eq!(
        convert_with_behavior_rate(NOW, 10, 500, 1, 1000, &[], &[], &b),
        (10, Limit::ScaleUpLimit(LimitedBy::Disabled))
    );
}

#[test]
fn test_convert_desired_replicas_with_rules() {
    // Upstream's harness patches the legacy factor to 8.
    let cases = [
        (5, 7, 3, 8, 7, "DesiredWithinRange"),
        (3, 1, 2, 8, 2, "TooFewReplicas"),
        (1, 0, 0, 10, 0, "DesiredWithinRange"),
        (20, 1000, 1, 10, 10, "TooManyReplicas"),
        (3, 1000, 1, 2000, 24, "ScaleUpLimit"),
    ];
    for (current, desired, min, max, expected, condition) in cases {
        let (out, limit) = convert_with_rules(current, desired, min, max, 8.0, 4.0);
        assert_eq!((out, limit.reason()), (expected, condition), "{current} -> {desired}");
    }
    // Production factor 2: from 1 replica the cap is 4, from 10 it is 20.
    assert_eq!(convert_with_rules(1, 100, 1, 1000, 2.0, 4.0).0, 4);
    assert_eq!(convert_with_rules(10, 100, 1, 1000, 2.0, 4.0).0, 20);
}

#[test]
fn test_calculate_scale_limits_with_min_select() {
    let mut r = rules(2, 60, 50, 60, 300);
    r.select = SelectPolicy::Min;
    assert_eq!(scale_up_limit(NOW, 1, &[], &[], &r).0, 2, "TestCalculateScaleUpLimitWithScalingRules");
    assert_eq!(scale_down_limit(NOW, 5, &[], &[], &r).0, 3, "TestCalculateScaleDownLimitWithBehaviors");
}

/// `TestStoreScaleEvents`, both directions: the change of the last 60 s
/// before storing, then the list after storing a change of 5.
#[test]
fn test_store_scale_events() {
    type Case = (&'static str, Vec<(i32, u64)>, Option<ScalingRules>, i32, Vec<(i32, bool)>);
    let cases: Vec<Case> = vec![
        ("empty entries with default behavior", vec![], None, 0, vec![]),
        ("empty entries with two-policy-behavior", vec![], Some(rules(10, 60, 100, 60, 0)), 0, vec![(5, false)]),
        ("one outdated entry to be kept untouched without behavior", vec![(7, 61)], None, 0, vec![(7, false)]),
        (
            "one outdated entry to be replaced with behavior",
            vec![(7, 61)],
            Some(rules(10, 60, 100, 60, 0)),
            0,
            vec![(5, false)],
        ),
        (
            "one actual entry to be not touched with behavior",
            vec![(7, 58)],
            Some(rules(10, 60, 100, 60, 0)),
            7,
            vec![(7, false), (5, false)],
        ),
        (
            "two entries, one of them to be replaced",
            vec![(7, 61), (6, 59)],
            Some(rules(10, 60, 0, 0, 0)),
            6,
            vec![(5, false), (6, false)],
        ),
        (
            "replace one entry, use policies with different periods",
            vec![(8, 29), (6, 59), (7, 61), (9, 61)],
            Some(rules(10, 60, 100, 30, 0)),
            14,
            vec![(8, false), (6, false), (7, true), (5, false)],
        ),
        (
            "two entries, both actual",
            vec![(7, 58), (6, 59)],
            Some(rules(10, 120, 100, 30, 0)),
            13,
            vec![(7, false), (6, false), (5, false)],
        ),
    ];
    for (name, prev, r, expected_change, after) in cases {
        let prev: Vec<ScaleEvent> =
            prev.iter().map(|&(change, back)| ScaleEvent { change, at: ago(back), outdated: false }).collect();
        for up in [true, false] {
            let b = r.clone().map(|r| if up { behavior(Some(r), None) } else { behavior(None, Some(r)) });
            let (mut ups, mut downs) = if up { (prev.clone(), vec![]) } else { (vec![], prev.clone()) };
            assert_eq!(change_in(&prev, NOW, secs(60)), i64::from(expected_change), "{name}");
            let new = if up { 15 } else { 5 };
            store_scale_event(&mut ups, &mut downs, b.as_ref(), NOW, 10, new);
            let got = if up { &ups } else { &downs };
            let got: Vec<(i32, bool)> = got.iter().map(|e| (e.change, e.outdated)).collect();
            assert_eq!(got, after, "{name} (up: {up})");
            assert!(if up { downs.is_empty() } else { ups.is_empty() }, "{name}: the other direction is untouched");
        }
    }
}
