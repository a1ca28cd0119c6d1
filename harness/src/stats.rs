//! The statistics behind `compare`'s verdicts: the Mann-Whitney U rank test
//! and a bootstrap confidence interval of the change in median, on plain
//! slices, with a seeded generator so a verdict is the same every time it
//! is computed from the same numbers.

/// Median of `values` (mean of the middle two for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// How the p-value of a [`MannWhitney`] test was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PMethod {
    /// From the exact distribution of U (no ties, small samples).
    Exact,
    /// Normal approximation with the ties correction and a continuity
    /// correction of 0.5.
    Normal,
}

/// Result of a two-sided Mann-Whitney U test of `x` against `y`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MannWhitney {
    /// U of the first sample: the number of (x, y) pairs with x > y, ties
    /// counting one half.
    pub u: f64,
    /// Two-sided p-value.
    pub p: f64,
    pub method: PMethod,
}

/// Largest n1 + n2 for which the exact distribution is counted: the counts
/// are held in f64, exact while C(n1 + n2, n1) < 2^53 (C(50, 25) ≈ 1.3e14).
const EXACT_MAX_TOTAL: usize = 50;

/// Two-sided Mann-Whitney U test. `None` when either sample is empty or
/// holds a non-finite value.
pub fn mann_whitney(x: &[f64], y: &[f64]) -> Option<MannWhitney> {
    let (n1, n2) = (x.len(), y.len());
    if n1 == 0 || n2 == 0 || x.iter().chain(y).any(|v| !v.is_finite()) {
        return None;
    }
    // Average ranks of the pooled sample.
    let mut pooled: Vec<(f64, bool)> = x
        .iter()
        .map(|&v| (v, true))
        .chain(y.iter().map(|&v| (v, false)))
        .collect();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = pooled.len();
    let mut rank_sum_x = 0.0;
    // Σ (t³ - t) over groups of t tied values, for the variance correction.
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && pooled[j + 1].0 == pooled[i].0 {
            j += 1;
        }
        let t = (j - i + 1) as f64;
        // Ranks i+1 ..= j+1, averaged.
        let avg = (i + j + 2) as f64 / 2.0;
        rank_sum_x += avg * pooled[i..=j].iter().filter(|p| p.1).count() as f64;
        tie_term += t * t * t - t;
        i = j + 1;
    }
    let (f1, f2) = (n1 as f64, n2 as f64);
    let u = rank_sum_x - f1 * (f1 + 1.0) / 2.0;
    let u_small = u.min(f1 * f2 - u);
    if tie_term == 0.0 && n <= EXACT_MAX_TOTAL {
        // u_small is a whole number when nothing ties.
        let p = 2.0 * exact_cdf(n1, n2, u_small.round() as usize);
        return Some(MannWhitney {
            u,
            p: p.min(1.0),
            method: PMethod::Exact,
        });
    }
    let nf = n as f64;
    let mean = f1 * f2 / 2.0;
    let var = f1 * f2 / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)));
    let p = if var <= 0.0 {
        // Every value ties: no evidence of a shift.
        1.0
    } else {
        let z = ((u - mean).abs() - 0.5).max(0.0) / var.sqrt();
        erfc(z / std::f64::consts::SQRT_2)
    };
    Some(MannWhitney {
        u,
        p: p.min(1.0),
        method: PMethod::Normal,
    })
}

/// P(U <= u) under the null hypothesis for samples of n1 and n2 without
/// ties: the number of arrangements of the pooled ranks with U <= u over
/// C(n1 + n2, n1), counted with the recurrence
/// f(m, n, u) = f(m - 1, n, u - n) + f(m, n - 1, u).
fn exact_cdf(n1: usize, n2: usize, u: usize) -> f64 {
    let max_u = n1 * n2;
    // counts[m][n] is the distribution of U for sizes (m, n), built up row by row.
    let mut prev: Vec<Vec<f64>> = (0..=n2).map(|_| vec![1.0]).collect(); // m = 0: U = 0 once
    for m in 1..=n1 {
        let mut cur: Vec<Vec<f64>> = Vec::with_capacity(n2 + 1);
        cur.push(vec![1.0]); // n = 0: U = 0 once
        for n in 1..=n2 {
            let len = m * n + 1;
            let mut d = vec![0.0; len];
            // The largest value is from the first sample: it beats all n of
            // the second sample.
            for (k, c) in prev[n].iter().enumerate() {
                d[k + n] += c;
            }
            // ... or from the second sample: it beats none.
            for (k, c) in cur[n - 1].iter().enumerate() {
                d[k] += c;
            }
            cur.push(d);
        }
        prev = cur;
    }
    let dist = &prev[n2];
    let total: f64 = dist.iter().sum();
    let below: f64 = dist[..=u.min(max_u)].iter().sum();
    below / total
}

/// Complementary error function: a Chebyshev fit with fractional error
/// below 1.2e-7 everywhere, ample for a p-value.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// SplitMix64: small, fast, and fully determined by its seed.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in 0..n (n > 0); the modulo bias is below 2^-50 for the
    /// sample sizes used here.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// A bootstrap confidence interval of the relative change of the median,
/// median(current) / median(baseline) - 1.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ChangeInterval {
    pub low: f64,
    pub high: f64,
    /// Confidence level, e.g. 0.95.
    pub level: f64,
    pub resamples: usize,
}

/// Percentile bootstrap: resamples each side with replacement `resamples`
/// times (seeded), takes the relative change of the medians each time, and
/// returns the central `level` part of those changes. `None` when a side is
/// empty or a baseline median is not positive.
pub fn bootstrap_change(
    baseline: &[f64],
    current: &[f64],
    level: f64,
    resamples: usize,
    seed: u64,
) -> Option<ChangeInterval> {
    if baseline.is_empty() || current.is_empty() || resamples == 0 {
        return None;
    }
    let mut rng = SplitMix64::new(seed);
    let mut changes = Vec::with_capacity(resamples);
    let mut b = vec![0.0; baseline.len()];
    let mut c = vec![0.0; current.len()];
    for _ in 0..resamples {
        for v in b.iter_mut() {
            *v = baseline[rng.below(baseline.len())];
        }
        for v in c.iter_mut() {
            *v = current[rng.below(current.len())];
        }
        let (mb, mc) = (median(&b)?, median(&c)?);
        if mb <= 0.0 {
            return None;
        }
        changes.push(mc / mb - 1.0);
    }
    changes.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    Some(ChangeInterval {
        low: quantile_sorted(&changes, tail),
        high: quantile_sorted(&changes, 1.0 - tail),
        level,
        resamples,
    })
}

/// Quantile `q` of sorted values, linear between neighbours.
fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, eps: f64) -> bool {
        (a - b).abs() <= eps
    }

    #[test]
    fn median_odd_even_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    /// Two-sided critical values of U at α = 0.05 for equal sample sizes,
    /// as printed in the standard tables (e.g. Siegel & Castellan,
    /// Table J): the largest U whose two-sided p is at most 0.05.
    #[test]
    fn exact_p_matches_the_critical_value_table() {
        for (n, critical) in [(5, 2), (6, 5), (7, 8), (8, 13), (9, 17), (10, 23)] {
            let at = 2.0 * exact_cdf(n, n, critical);
            let above = 2.0 * exact_cdf(n, n, critical + 1);
            assert!(at <= 0.05, "n={n} U={critical}: p={at}");
            assert!(above > 0.05, "n={n} U={}: p={above}", critical + 1);
        }
    }

    /// n1 = n2 = 5: arrangements with U = 0, 1, 2, 3 number 1, 1, 2, 3 (the
    /// partitions of U into at most 5 parts of at most 5) out of C(10,5) = 252.
    #[test]
    fn exact_cdf_counts_by_hand() {
        assert!(close(exact_cdf(5, 5, 0), 1.0 / 252.0, 1e-15));
        assert!(close(exact_cdf(5, 5, 2), 4.0 / 252.0, 1e-15));
        assert!(close(exact_cdf(5, 5, 3), 7.0 / 252.0, 1e-15));
        assert!(close(exact_cdf(5, 5, 25), 1.0, 1e-15));
        // Unequal sizes: n1 = 1, n2 = 4: U uniform on 0..=4.
        assert!(close(exact_cdf(1, 4, 1), 2.0 / 5.0, 1e-15));
    }

    #[test]
    fn completely_separated_samples() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [6.0, 7.0, 8.0, 9.0, 10.0];
        let t = mann_whitney(&x, &y).unwrap();
        assert_eq!(t.method, PMethod::Exact);
        assert_eq!(t.u, 0.0);
        assert!(close(t.p, 2.0 / 252.0, 1e-12), "{t:?}");
        // Symmetric: swapping the samples gives U' = n1 n2 - U, same p.
        let s = mann_whitney(&y, &x).unwrap();
        assert_eq!(s.u, 25.0);
        assert!(close(s.p, t.p, 1e-15));
    }

    /// With ties, by hand: x = [1, 2, 2, 3], y = [2, 3, 4, 5, 5].
    /// Pooled sorted: 1 2 2 2 3 3 4 5 5 -> ranks 1, 3, 3, 3, 5.5, 5.5, 7,
    /// 8.5, 8.5. R_x = 1 + 3 + 3 + 5.5 = 12.5, U = 12.5 - 10 = 2.5.
    /// Ties: t = 3 (the 2s), 2 (the 3s), 2 (the 5s): Σ(t³-t) = 24 + 6 + 6 = 36.
    /// var = 20/12 · (10 - 36/72) = 15.8333…, mean = 10,
    /// z = (7.5 - 0.5)/√15.8333 = 1.75916, p = erfc(z/√2) = 0.078546.
    #[test]
    fn normal_approximation_with_ties_by_hand() {
        let t = mann_whitney(&[1.0, 2.0, 2.0, 3.0], &[2.0, 3.0, 4.0, 5.0, 5.0]).unwrap();
        assert_eq!(t.method, PMethod::Normal);
        assert_eq!(t.u, 2.5);
        assert!(close(t.p, 0.078546, 1e-5), "{t:?}");
    }

    #[test]
    fn erfc_known_values() {
        assert!(close(erfc(0.0), 1.0, 1e-7));
        // erfc(1) = 0.157299207..., erfc(2) = 0.004677734...
        assert!(close(erfc(1.0), 0.157_299_207, 1e-7));
        assert!(close(erfc(2.0), 0.004_677_735, 1e-8));
        assert!(close(erfc(-1.0), 1.842_700_793, 1e-7));
    }

    #[test]
    fn large_samples_use_the_normal_approximation_and_agree_with_exact() {
        // 30 + 30 distinct values: beyond the exact limit; the two methods
        // agree to about 0.01 on a moderate shift.
        let x: Vec<f64> = (0..30).map(|i| i as f64).collect();
        let y: Vec<f64> = (0..30).map(|i| i as f64 + 7.5).collect();
        let t = mann_whitney(&x, &y).unwrap();
        assert_eq!(t.method, PMethod::Normal);
        let exact = 2.0 * exact_cdf(30, 30, t.u.min(900.0 - t.u) as usize);
        assert!(close(t.p, exact, 0.01), "normal {} exact {exact}", t.p);
    }

    #[test]
    fn all_tied_and_bad_input() {
        let t = mann_whitney(&[1.0, 1.0], &[1.0, 1.0, 1.0]).unwrap();
        assert_eq!(t.p, 1.0);
        assert!(mann_whitney(&[], &[1.0]).is_none());
        assert!(mann_whitney(&[f64::NAN], &[1.0]).is_none());
    }

    #[test]
    fn bootstrap_is_deterministic_and_brackets_the_change() {
        let b = [1.00, 0.98, 1.02, 0.99, 1.01, 1.00, 0.97, 1.03, 1.00];
        let c: Vec<f64> = b.iter().take(5).map(|v| v * 0.8).collect();
        let i1 = bootstrap_change(&b, &c, 0.95, 2000, 7).unwrap();
        let i2 = bootstrap_change(&b, &c, 0.95, 2000, 7).unwrap();
        assert_eq!(i1, i2);
        assert!(i1.low < -0.2 + 0.05 && i1.high > -0.2 - 0.05, "{i1:?}");
        assert!(i1.high < -0.15, "{i1:?}");
        // Identical samples: the interval holds 0.
        let same = bootstrap_change(&b, &b, 0.95, 2000, 7).unwrap();
        assert!(same.low <= 0.0 && same.high >= 0.0, "{same:?}");
        assert!(bootstrap_change(&[], &c, 0.95, 10, 1).is_none());
        assert!(bootstrap_change(&[0.0], &c, 0.95, 10, 1).is_none());
    }

    #[test]
    fn splitmix_reference_sequence() {
        // First outputs of SplitMix64 seeded with 0 (Vigna's reference code).
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }
}
