//! Where an axis gets its ticks, and how they read: multiples of 1, 2 or 5 × 10ᵏ on a linear
//! axis; the values 1, 2 and 5 × 10ᵏ on a logarithmic one, or the decades alone (10ᵏ) where
//! those would crowd it. Every label is the tick's exact decimal (`0.05`, `20`), never a
//! rounded power (`3.162`).

/// The mantissas of a log axis' ticks.
const MANTISSAS: [u32; 3] = [1, 2, 5];

/// `m × 10ᵉ`, computed so that it is the `f64` nearest the decimal (`3 × 10⁻¹` is `0.3`,
/// not `0.30000000000000004`).
fn scaled(m: i64, e: i32) -> f64 {
    if e < 0 {
        m as f64 / 10f64.powi(-e)
    } else {
        m as f64 * 10f64.powi(e)
    }
}

/// `v` with `decimals` digits after the point (no `-0`).
fn decimal(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') {
        s.trim_start_matches('-').to_string()
    } else {
        s
    }
}

/// A linear axis' ticks over `[lo, hi]`: the multiples of the smallest step `m × 10ᵉ`
/// (`m` ∈ {1, 2, 5}) that gives at most `max` of them, as `(value, label)`; the labels all
/// have the step's decimals (`0.0`, `0.2`, … or `0`, `1000`, …).
///
/// ```
/// use bn_paper::plot::ticks::linear;
/// let labels: Vec<String> = linear(0.0, 1.0, 6).into_iter().map(|t| t.1).collect();
/// assert_eq!(labels, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
/// ```
pub fn linear(lo: f64, hi: f64, max: usize) -> Vec<(f64, String)> {
    if !(lo.is_finite() && hi.is_finite() && hi > lo) {
        return Vec::new();
    }
    let max = max.max(2);
    let mut e = ((hi - lo) / max as f64).log10().floor() as i32 - 1;
    loop {
        for m in MANTISSAS {
            let step = scaled(i64::from(m), e);
            let (first, last) = ((lo / step - 1e-9).ceil() as i64, (hi / step + 1e-9).floor() as i64);
            if last - first < max as i64 {
                let decimals = (-e).max(0) as usize;
                return (first..=last)
                    .map(|k| {
                        let v = scaled(k * i64::from(m), e);
                        (v, decimal(v, decimals))
                    })
                    .collect();
            }
        }
        e += 1;
    }
}

/// The label of the log-axis tick `m × 10ᵉ`: its decimal, or `me±k` beyond 10⁶ and 10⁻⁶.
fn log_label(m: u32, e: i32) -> String {
    if !(-6..=6).contains(&e) {
        format!("{m}e{e}")
    } else {
        decimal(scaled(i64::from(m), e), (-e).max(0) as usize)
    }
}

/// A logarithmic axis' ticks over `[lo, hi]` (`0 < lo < hi`), as `(value, label)`: the
/// values `1`, `2`, `5 × 10ᵉ` within it if there are at most `max`, else the decades `10ᵉ`
/// (every second or more if even those are more than `max`).
///
/// ```
/// use bn_paper::plot::ticks::log;
/// let labels: Vec<String> = log(0.04, 60.0, 10).into_iter().map(|t| t.1).collect();
/// assert_eq!(labels, ["0.05", "0.1", "0.2", "0.5", "1", "2", "5", "10", "20", "50"]);
/// let labels: Vec<String> = log(0.04, 60.0, 6).into_iter().map(|t| t.1).collect();
/// assert_eq!(labels, ["0.1", "1", "10"]);
/// ```
pub fn log(lo: f64, hi: f64, max: usize) -> Vec<(f64, String)> {
    if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && hi > lo) {
        return Vec::new();
    }
    let (first, last) = (lo.log10().floor() as i32 - 1, hi.log10().ceil() as i32 + 1);
    let within = |v: f64| v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9);
    let all: Vec<(u32, i32)> = (first..=last)
        .flat_map(|e| MANTISSAS.map(|m| (m, e)))
        .filter(|&(m, e)| within(scaled(i64::from(m), e)))
        .collect();
    let max = max.max(1);
    let decades: Vec<(u32, i32)> = all.iter().copied().filter(|&(m, _)| m == 1).collect();
    let ticks: Vec<(u32, i32)> = if all.len() <= max || decades.is_empty() {
        all.into_iter().take(max).collect()
    } else {
        let every = decades.len().div_ceil(max) as i32;
        decades.into_iter().filter(|&(_, e)| e.rem_euclid(every) == 0).collect()
    };
    ticks.into_iter().map(|(m, e)| (scaled(i64::from(m), e), log_label(m, e))).collect()
}

/// The largest `1`, `2` or `5 × 10ᵉ` at or below `v > 0`.
pub fn floor_125(v: f64) -> f64 {
    let e = v.log10().floor() as i32;
    (e - 1..=e + 1)
        .flat_map(|e| MANTISSAS.map(|m| scaled(i64::from(m), e)))
        .filter(|&t| t <= v * (1.0 + 1e-12))
        .fold(scaled(1, e - 1), f64::max)
}

/// The smallest `1`, `2` or `5 × 10ᵉ` at or above `v > 0`.
pub fn ceil_125(v: f64) -> f64 {
    let e = v.log10().floor() as i32;
    (e - 1..=e + 1)
        .flat_map(|e| MANTISSAS.map(|m| scaled(i64::from(m), e)))
        .filter(|&t| t >= v * (1.0 - 1e-12))
        .fold(scaled(1, e + 2), f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(ticks: Vec<(f64, String)>) -> Vec<String> {
        ticks.into_iter().map(|t| t.1).collect()
    }

    #[test]
    fn log_axes_tick_at_1_2_5_or_decades() {
        // The claims' axes: learning rates, initial weight scales, batch sizes.
        assert_eq!(labels(log(0.04, 60.0, 10)), ["0.05", "0.1", "0.2", "0.5", "1", "2", "5", "10", "20", "50"]);
        assert_eq!(labels(log(0.0085, 12.0, 10)), ["0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1", "2", "5", "10"]);
        assert_eq!(labels(log(1.8, 140.0, 10)), ["2", "5", "10", "20", "50", "100"]);
        // A training loss.
        assert_eq!(labels(log(0.02, 5.0, 10)), ["0.02", "0.05", "0.1", "0.2", "0.5", "1", "2", "5"]);
        // Too many for 1-2-5: decades; too many decades: every second.
        assert_eq!(labels(log(1e-3, 1e3, 10)), ["0.001", "0.01", "0.1", "1", "10", "100", "1000"]);
        assert_eq!(
            labels(log(1e-8, 1e8, 10)),
            ["1e-8", "0.000001", "0.0001", "0.01", "1", "100", "10000", "1000000", "1e8"]
        );
        // The values are the decimals' nearest f64.
        let v: Vec<f64> = log(0.04, 60.0, 10).into_iter().map(|t| t.0).collect();
        assert_eq!(v, [0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0]);
        // Nothing for an empty or non-positive range.
        assert!(log(1.0, 1.0, 10).is_empty() && log(0.0, 1.0, 10).is_empty() && log(2.0, 1.0, 10).is_empty());
    }

    #[test]
    fn no_log_tick_is_a_rounded_power() {
        // Whatever the range, every label reads 1, 2 or 5 times a power of ten: never 3.162
        // or 31.623 (10^0.5, 10^1.5), which plotters' linear ticks over log10 values gave.
        let mut rng = bn_core::Rng::seed(5);
        for _ in 0..2000 {
            let lo = 10f64.powf(8.0 * rng.uniform() - 4.0);
            let hi = lo * 10f64.powf(0.4 + 6.0 * rng.uniform());
            let ticks = log(lo, hi, 10);
            assert!(!ticks.is_empty() && ticks.len() <= 10, "{lo} {hi}: {ticks:?}");
            for (v, label) in &ticks {
                assert!(*v >= lo * (1.0 - 1e-9) && *v <= hi * (1.0 + 1e-9), "{lo} {hi}: {v}");
                let digits: String = label.chars().take_while(|c| *c != 'e').filter(|c| c.is_ascii_digit()).collect();
                let significant = digits.trim_matches('0');
                assert!(["1", "2", "5"].contains(&significant), "{lo} {hi}: {label}");
                assert_eq!(label.parse::<f64>().unwrap(), *v, "{label}");
            }
        }
    }

    #[test]
    fn linear_axes_tick_at_multiples_of_1_2_5() {
        assert_eq!(labels(linear(0.0, 1.0, 6)), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        assert_eq!(labels(linear(0.0, 5000.0, 7)), ["0", "1000", "2000", "3000", "4000", "5000"]);
        assert_eq!(labels(linear(0.0, 50_000.0, 7)), ["0", "10000", "20000", "30000", "40000", "50000"]);
        assert_eq!(labels(linear(0.83, 0.97, 8)), ["0.84", "0.86", "0.88", "0.90", "0.92", "0.94", "0.96"]);
        assert_eq!(labels(linear(-2.3, 1.2, 8)), ["-2.0", "-1.5", "-1.0", "-0.5", "0.0", "0.5", "1.0"]);
        assert_eq!(labels(linear(-0.5, 3.5, 5)), ["0", "1", "2", "3"]);
        assert_eq!(linear(0.0, 1.0, 3).into_iter().map(|t| t.0).collect::<Vec<_>>(), [0.0, 0.5, 1.0]);
        assert!(linear(1.0, 1.0, 5).is_empty() && linear(f64::NAN, 1.0, 5).is_empty());
    }

    #[test]
    fn ranges_snap_to_1_2_5() {
        assert_eq!(floor_125(0.031), 0.02);
        assert_eq!(floor_125(0.05), 0.05);
        assert_eq!(floor_125(9.99), 5.0);
        assert_eq!(floor_125(1.0), 1.0);
        assert_eq!(ceil_125(3.3), 5.0);
        assert_eq!(ceil_125(0.5), 0.5);
        assert_eq!(ceil_125(5.01), 10.0);
        assert_eq!(ceil_125(0.0011), 0.002);
    }
}
