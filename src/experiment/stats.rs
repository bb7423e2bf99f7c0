//! Statistics across replications: means with Student-t 95% intervals, and
//! paired differences (common random numbers: replication r of two points
//! ran on the same seed, so their difference carries the change, not the
//! noise). Pure functions over `f64` slices, summed in index order so the
//! bits do not depend on how runs were scheduled.

use serde::{Deserialize, Serialize};

/// A mean over replications with its 95% confidence interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub mean: f64,
    /// `[low, high]`: the mean ± t(0.975, n−1) · sd / √n (both the mean
    /// when n < 2).
    pub ci95: [f64; 2],
    /// Sample standard deviation (0 when n < 2).
    pub sd: f64,
    /// Replications that had a value.
    pub n: u32,
}

/// A paired difference (this point minus the baseline, replication by
/// replication) with its 95% interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    pub mean_diff: f64,
    pub ci95: [f64; 2],
    /// Relative to the baseline's mean (`mean_diff / baseline mean`), when
    /// the baseline's mean is not 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relative: Option<f64>,
    /// The interval excludes 0: the change is real at the 95% level.
    pub significant: bool,
    pub n: u32,
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom (the
/// multiplier of a two-sided 95% interval). Exact table values to 30,
/// then the Cornish–Fisher expansion around the normal quantile (error
/// below 1e-4 from 30 on).
pub fn t975(df: u32) -> f64 {
    const TABLE: [f64; 30] = [
        12.706_204_7,
        4.302_652_7,
        3.182_446_3,
        2.776_445_1,
        2.570_581_8,
        2.446_911_9,
        2.364_624_3,
        2.306_004_1,
        2.262_157_2,
        2.228_138_9,
        2.200_985_2,
        2.178_812_8,
        2.160_368_7,
        2.144_786_7,
        2.131_449_5,
        2.119_905_3,
        2.109_815_6,
        2.100_922_0,
        2.093_024_1,
        2.085_963_4,
        2.079_613_8,
        2.073_873_1,
        2.068_657_6,
        2.063_898_6,
        2.059_538_6,
        2.055_529_4,
        2.051_830_5,
        2.048_407_1,
        2.045_229_6,
        2.042_272_5,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df as usize - 1],
        _ => {
            let z: f64 = 1.959_963_984_540_054;
            let v = f64::from(df);
            let z3 = z.powi(3);
            let z5 = z.powi(5);
            let z7 = z.powi(7);
            z + (z3 + z) / (4.0 * v)
                + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * v * v)
                + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * v * v * v)
        }
    }
}

/// Mean and sample sd of `xs`, summed in order.
fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    if xs.is_empty() {
        return (0.0, 0.0);
    }
    let mean = xs.iter().sum::<f64>() / n;
    if xs.len() < 2 {
        return (mean, 0.0);
    }
    let ss: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
    (mean, (ss / (n - 1.0)).sqrt())
}

/// The mean of the values present, with its 95% interval.
pub fn estimate(xs: &[Option<f64>]) -> Estimate {
    let v: Vec<f64> = xs.iter().flatten().copied().collect();
    let (mean, sd) = mean_sd(&v);
    let n = v.len() as u32;
    let half = if n >= 2 { t975(n - 1) * sd / f64::from(n).sqrt() } else { 0.0 };
    Estimate { mean, ci95: [mean - half, mean + half], sd, n }
}

/// The paired difference `xs[r] − base[r]` over the replications where
/// both have a value.
pub fn paired(xs: &[Option<f64>], base: &[Option<f64>]) -> Difference {
    let d: Vec<Option<f64>> = xs.iter().zip(base).map(|(x, b)| Some((*x)? - (*b)?)).collect();
    let e = estimate(&d);
    let b = estimate(base);
    let significant = e.n >= 2 && (e.ci95[0] > 0.0 || e.ci95[1] < 0.0);
    Difference {
        mean_diff: e.mean,
        ci95: e.ci95,
        relative: (b.n > 0 && b.mean != 0.0).then(|| e.mean / b.mean),
        significant,
        n: e.n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables_and_the_normal_limit() {
        assert_eq!(t975(9), 2.262_157_2);
        // Published values: t(0.975, 40) = 2.021075, 60 = 2.000298, 120 = 1.979930.
        for (df, want) in [(40, 2.021_075), (60, 2.000_298), (120, 1.979_930), (1000, 1.962_339)] {
            assert!((t975(df) - want).abs() < 1e-4, "df {df}: {} vs {want}", t975(df));
        }
        assert!((t975(31) - 2.039_513).abs() < 1e-4, "{}", t975(31));
    }

    #[test]
    fn an_estimate_of_known_numbers() {
        let xs: Vec<Option<f64>> = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0].iter().map(|&x| Some(x)).collect();
        let e = estimate(&xs);
        assert_eq!(e.mean, 5.0);
        let sd = (32.0f64 / 7.0).sqrt();
        assert!((e.sd - sd).abs() < 1e-12);
        let half = 2.364_624_3 * sd / 8f64.sqrt();
        assert!((e.ci95[0] - (5.0 - half)).abs() < 1e-9 && (e.ci95[1] - (5.0 + half)).abs() < 1e-9);
        assert_eq!(estimate(&[Some(3.0), None]).ci95, [3.0, 3.0]);
    }

    #[test]
    fn pairing_takes_the_shared_noise_out() {
        // Two variants whose replications share their noise: the paired
        // difference is exact while unpaired intervals overlap.
        let noise = [5.0, -3.0, 8.0, -6.0, 2.0, 0.5];
        let a: Vec<Option<f64>> = noise.iter().map(|n| Some(100.0 + n)).collect();
        let b: Vec<Option<f64>> = noise.iter().map(|n| Some(101.0 + n)).collect();
        let d = paired(&b, &a);
        assert!((d.mean_diff - 1.0).abs() < 1e-12 && d.ci95[1] - d.ci95[0] < 1e-9);
        assert!(d.significant);
        let (ea, eb) = (estimate(&a), estimate(&b));
        assert!(eb.ci95[0] < ea.ci95[1], "unpaired intervals overlap");
    }
}
