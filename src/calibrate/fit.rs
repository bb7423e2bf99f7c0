//! Least squares for the iteration cost: ordinary least squares by
//! Householder QR (columns scaled to unit norm first, so a column of
//! context tokens in the hundred thousands sits beside the intercept's
//! ones without loss), standard errors from the residual variance and
//! (XᵀX)⁻¹ = R⁻¹R⁻ᵀ, columns that cannot be identified left out, and
//! non-negative least squares by trying every subset of the (at most four)
//! columns.
//!
//! Pure arithmetic on slices: no files, no units, no names.

/// A column's orthogonal part below this fraction of its norm is treated
/// as a linear combination of the columns before it.
const RANK_TOLERANCE: f64 = 1e-9;

/// An ordinary least-squares fit on some columns.
#[derive(Clone, Debug, PartialEq)]
pub struct LeastSquares {
    /// One coefficient per column, in the columns' order.
    pub beta: Vec<f64>,
    /// (XᵀX)⁻¹, p × p, row-major.
    pub xtx_inv: Vec<Vec<f64>>,
    /// Residual sum of squares, computed from the residuals themselves.
    pub rss: f64,
}

/// Solves min ‖Xβ − y‖ for the columns `cols` of X (each as long as `y`).
/// `Err(j)`: column `j` is zero or a linear combination of the columns
/// before it (within [`RANK_TOLERANCE`]).
#[allow(clippy::needless_range_loop)] // matrix arithmetic reads best with indices
pub fn least_squares(cols: &[&[f64]], y: &[f64]) -> Result<LeastSquares, usize> {
    let (n, p) = (y.len(), cols.len());
    let scale: Vec<f64> = cols.iter().map(|c| norm(c)).collect();
    if let Some(j) = scale.iter().position(|&s| s == 0.0 || !s.is_finite()) {
        return Err(j);
    }
    // a: the scaled columns, reduced in place to R (upper p × p) by
    // Householder reflections; b: y reflected alongside, becoming Qᵀy.
    let mut a: Vec<Vec<f64>> = cols.iter().zip(&scale).map(|(c, s)| c.iter().map(|v| v / s).collect()).collect();
    let mut b = y.to_vec();
    for k in 0..p {
        let x_norm = norm(&a[k][k..]);
        if x_norm < RANK_TOLERANCE || k >= n {
            return Err(k);
        }
        let alpha = if a[k][k] > 0.0 { -x_norm } else { x_norm };
        let mut v = a[k][k..].to_vec();
        v[0] -= alpha;
        let vv: f64 = v.iter().map(|x| x * x).sum();
        for col in a.iter_mut().skip(k).chain(std::iter::once(&mut b)) {
            let dot: f64 = v.iter().zip(&col[k..]).map(|(vi, ci)| vi * ci).sum();
            let f = 2.0 * dot / vv;
            for (ci, vi) in col[k..].iter_mut().zip(&v) {
                *ci -= f * vi;
            }
        }
        a[k][k] = alpha;
    }
    // R β' = (Qᵀy)[..p], then β = β' / scale.
    let r = |i: usize, j: usize| a[j][i];
    let mut beta_scaled = vec![0.0; p];
    for i in (0..p).rev() {
        let s: f64 = (i + 1..p).map(|j| r(i, j) * beta_scaled[j]).sum();
        beta_scaled[i] = (b[i] - s) / r(i, i);
    }
    let beta: Vec<f64> = beta_scaled.iter().zip(&scale).map(|(b, s)| b / s).collect();
    // R⁻¹ (upper triangular), column by column.
    let mut r_inv = vec![vec![0.0; p]; p];
    for j in 0..p {
        r_inv[j][j] = 1.0 / r(j, j);
        for i in (0..j).rev() {
            let s: f64 = (i + 1..=j).map(|k| r(i, k) * r_inv[k][j]).sum();
            r_inv[i][j] = -s / r(i, i);
        }
    }
    // (XᵀX)⁻¹ = S⁻¹ R⁻¹ R⁻ᵀ S⁻¹ for X = A S.
    let xtx_inv = (0..p)
        .map(|i| {
            (0..p).map(|j| (0..p).map(|k| r_inv[i][k] * r_inv[j][k]).sum::<f64>() / (scale[i] * scale[j])).collect()
        })
        .collect();
    let rss = (0..n)
        .map(|i| {
            let fitted: f64 = cols.iter().zip(&beta).map(|(c, b)| c[i] * b).sum();
            (y[i] - fitted).powi(2)
        })
        .sum();
    Ok(LeastSquares { beta, xtx_inv, rss })
}

fn norm(x: &[f64]) -> f64 {
    // Scaled by the largest entry: no overflow for huge values.
    let m = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if m == 0.0 || !m.is_finite() {
        return m;
    }
    m * x.iter().map(|v| (v / m).powi(2)).sum::<f64>().sqrt()
}

/// Non-negative least squares: the fit on the subset of `cols` whose
/// unconstrained coefficients are all ≥ 0 and whose residual is smallest
/// (the NNLS optimum is the unconstrained fit on its own support). Returns
/// the indices kept and their fit; the others are fixed at 0. The columns
/// must be linearly independent.
pub fn non_negative(cols: &[&[f64]], y: &[f64]) -> (Vec<usize>, Option<LeastSquares>) {
    let p = cols.len();
    assert!(p < 16, "non_negative enumerates subsets: at most a handful of columns");
    let zero_rss: f64 = y.iter().map(|v| v * v).sum();
    let mut best: (f64, Vec<usize>, Option<LeastSquares>) = (zero_rss, Vec::new(), None);
    // The full set first: when it is feasible it wins ties.
    for mask in (1u32..(1 << p)).rev() {
        let kept: Vec<usize> = (0..p).filter(|j| mask & (1 << j) != 0).collect();
        let sub: Vec<&[f64]> = kept.iter().map(|&j| cols[j]).collect();
        let Ok(fit) = least_squares(&sub, y) else { continue };
        if fit.beta.iter().all(|&b| b >= 0.0) && fit.rss < best.0 * (1.0 - 1e-12) {
            best = (fit.rss, kept, Some(fit));
        }
    }
    (best.1, best.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::needless_range_loop)]
    fn an_exact_line_is_recovered() {
        let ones = [1.0; 5];
        let x = [0.0, 1.0, 2.0, 3.0, 4.0];
        let y: Vec<f64> = x.iter().map(|v| 3.0 + 2.0 * v).collect();
        let f = least_squares(&[&ones, &x], &y).expect("independent");
        assert!((f.beta[0] - 3.0).abs() < 1e-12 && (f.beta[1] - 2.0).abs() < 1e-12, "{f:?}");
        assert!(f.rss < 1e-20);
        // (XᵀX)⁻¹ of [[5, 10], [10, 30]] is [[0.6, -0.2], [-0.2, 0.1]].
        let want = [[0.6, -0.2], [-0.2, 0.1]];
        for i in 0..2 {
            for j in 0..2 {
                assert!((f.xtx_inv[i][j] - want[i][j]).abs() < 1e-12, "{:?}", f.xtx_inv);
            }
        }
    }

    #[test]
    fn a_dependent_column_is_named() {
        let ones = [1.0; 4];
        let x = [1.0, 2.0, 3.0, 5.0];
        let twice: Vec<f64> = x.iter().map(|v| 2.0 * v + 1.0).collect();
        assert_eq!(least_squares(&[&ones, &x, &twice], &[1.0, 2.0, 3.0, 4.0]), Err(2));
        assert_eq!(least_squares(&[&ones, &[0.0; 4]], &[1.0, 2.0, 3.0, 4.0]), Err(1));
    }

    #[test]
    fn a_negative_slope_is_fixed_at_zero() {
        let ones = [1.0; 4];
        let x = [0.0, 1.0, 2.0, 3.0];
        let y = [4.0, 3.0, 2.0, 1.0];
        let (kept, fit) = non_negative(&[&ones, &x], &y);
        assert_eq!(kept, vec![0]);
        assert!((fit.expect("a fit").beta[0] - 2.5).abs() < 1e-12);
    }
}
