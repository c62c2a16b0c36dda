//! The paper's Figure 1 as an SVG file: (a) test accuracy of the MNIST network with and
//! without Batch Normalization against the training step, (b, c) the evolution of the
//! input distribution of one sigmoid of the last hidden layer, as its 15th, 50th and 85th
//! percentiles, without (b) and with (c) Batch Normalization.
//!
//! [`write_curves_svg`] draws the convolutional experiment's figure: the same test-accuracy
//! panel beside the training loss of both networks.

use std::error::Error;
use std::ops::Range;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

/// The percentiles drawn in panels (b) and (c).
pub const PERCENTILES: [f32; 3] = [15.0, 50.0, 85.0];

/// The recorded curves of the two training runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FigureData {
    /// The training steps at which the values below were recorded (increasing).
    pub steps: Vec<usize>,
    /// Test accuracy (fraction in `[0, 1]`) of the network without BN, one per step.
    pub test_acc_plain: Vec<f32>,
    /// Test accuracy of the network with BN, one per step.
    pub test_acc_bn: Vec<f32>,
    /// 15th, 50th and 85th percentiles of the sigmoid's input without BN, one per step.
    pub pct_plain: Vec<[f32; 3]>,
    /// The same with BN.
    pub pct_bn: Vec<[f32; 3]>,
}

/// The 15th, 50th and 85th percentiles of `values`, with linear interpolation between
/// the two nearest ranks (numpy's default `method="linear"`): the `p`th percentile of the
/// sorted `x₀ ≤ … ≤ x_{n−1}` is at rank `h = p/100·(n−1)`,
/// `x_⌊h⌋ + (h − ⌊h⌋)·(x_⌈h⌉ − x_⌊h⌋)`.
///
/// Sorts `values` in place. Returns NaNs for an empty slice.
pub fn percentiles(values: &mut [f32]) -> [f32; 3] {
    if values.is_empty() {
        return [f32::NAN; 3];
    }
    values.sort_unstable_by(f32::total_cmp);
    PERCENTILES.map(|p| {
        let h = f64::from(p) / 100.0 * (values.len() - 1) as f64;
        let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
        let (a, b) = (f64::from(values[lo]), f64::from(values[hi]));
        (a + (h - lo as f64) * (b - a)) as f32
    })
}

const WIDTH: u32 = 1500;
const HEIGHT: u32 = 460;
const FONT: &str = "sans-serif";
const PLAIN_COLOR: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const BN_COLOR: RGBColor = RGBColor(0xd6, 0x27, 0x28);
/// Colors of the 15th, 50th and 85th percentile curves.
const PCT_COLORS: [RGBColor; 3] = [RGBColor(0x55, 0x55, 0xcc), RGBColor(0x11, 0x11, 0x11), RGBColor(0xcc, 0x55, 0x55)];

/// The titles of the three panels.
pub const PANEL_TITLES: [&str; 3] =
    ["(a) Test accuracy", "(b) Sigmoid input, without BN", "(c) Sigmoid input, with BN"];

/// Writes Figure 1 (three panels side by side) to `path` as SVG.
///
/// Non-finite values are left out of the curves. Fails if there are no steps or if a
/// series does not have one value per step.
pub fn write_figure_svg(path: &Path, data: &FigureData) -> Result<(), Box<dyn Error>> {
    let n = data.steps.len();
    if n == 0 {
        return Err("figure data has no recorded steps".into());
    }
    for (name, len) in [
        ("test_acc_plain", data.test_acc_plain.len()),
        ("test_acc_bn", data.test_acc_bn.len()),
        ("pct_plain", data.pct_plain.len()),
        ("pct_bn", data.pct_bn.len()),
    ] {
        if len != n {
            return Err(format!("figure data: {name} has {len} values for {n} steps").into());
        }
    }
    let first = data.steps.iter().copied().min().unwrap_or(0);
    let last = data.steps.iter().copied().max().unwrap_or(0).max(first + 1);
    let x_range = first as f64..last as f64;

    let root = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, 3));

    // (a) Test accuracy.
    accuracy_panel(&panels[0], PANEL_TITLES[0], x_range.clone(), &data.steps, &data.test_acc_plain, &data.test_acc_bn)?;

    // (b), (c) Percentiles of the sigmoid's input, on a common scale.
    let all = data.pct_plain.iter().chain(&data.pct_bn).flatten();
    // Room at the top for the legend.
    let y_range = padded_range(all.copied(), 0.05, 0.3, (-1.0, 1.0));
    for (panel, (title, pct)) in
        panels[1..].iter().zip([(PANEL_TITLES[1], &data.pct_plain), (PANEL_TITLES[2], &data.pct_bn)])
    {
        let mut chart = ChartBuilder::on(panel)
            .caption(title, (FONT, 22))
            .margin(12)
            .margin_right(30)
            .x_label_area_size(42)
            .y_label_area_size(56)
            .build_cartesian_2d(x_range.clone(), y_range.clone())?;
        chart
            .configure_mesh()
            .x_labels(6)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .x_desc("Training step")
            .y_desc("Input value")
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .draw()?;
        for (k, (p, color)) in PERCENTILES.iter().zip(PCT_COLORS).enumerate() {
            chart
                .draw_series(LineSeries::new(
                    finite_points(&data.steps, pct.iter().map(|q| q[k])),
                    color.stroke_width(2),
                ))?
                .label(format!("{p:.0}th percentile"))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 22, y)], color.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// The recorded curves of two networks trained side by side (the convolutional
/// experiment's figure): test accuracy and training loss against the step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CurveData {
    /// The training steps at which the values below were recorded (increasing).
    pub steps: Vec<usize>,
    /// Test accuracy (fraction in `[0, 1]`) of the network without BN, one per step.
    pub test_acc_plain: Vec<f32>,
    /// Test accuracy of the network with BN, one per step.
    pub test_acc_bn: Vec<f32>,
    /// Mean training loss since the previous step without BN, one per step (NaN where
    /// there is none, e.g. at step 0).
    pub loss_plain: Vec<f32>,
    /// The same with BN.
    pub loss_bn: Vec<f32>,
}

/// The titles of the two panels of [`write_curves_svg`].
pub const CURVE_TITLES: [&str; 2] = ["(a) Test accuracy", "(b) Training loss (log scale)"];

const CURVES_WIDTH: u32 = 1000;

/// Writes the curves of two networks to `path` as SVG: (a) their test accuracy, drawn like
/// panel (a) of Figure 1 but from the second recorded step on (the first, before training,
/// is at chance level and would squash the scale), and (b) their training loss on a
/// logarithmic scale, side by side.
///
/// Non-finite values (and, in (b), values ≤ 0) are left out of the curves. Fails if there
/// are no steps or if a series does not have one value per step.
pub fn write_curves_svg(path: &Path, data: &CurveData) -> Result<(), Box<dyn Error>> {
    let n = data.steps.len();
    if n == 0 {
        return Err("curve data has no recorded steps".into());
    }
    for (name, len) in [
        ("test_acc_plain", data.test_acc_plain.len()),
        ("test_acc_bn", data.test_acc_bn.len()),
        ("loss_plain", data.loss_plain.len()),
        ("loss_bn", data.loss_bn.len()),
    ] {
        if len != n {
            return Err(format!("curve data: {name} has {len} values for {n} steps").into());
        }
    }
    let first = data.steps.iter().copied().min().unwrap_or(0);
    let last = data.steps.iter().copied().max().unwrap_or(0).max(first + 1);
    let x_range = first as f64..last as f64;

    let root = SVGBackend::new(path, (CURVES_WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, 2));
    // (a) Without the first point (chance level before training), so that the scale shows
    // the differences where the networks are close.
    let from = usize::from(n > 1);
    accuracy_panel(
        &panels[0],
        CURVE_TITLES[0],
        x_range.clone(),
        &data.steps[from..],
        &data.test_acc_plain[from..],
        &data.test_acc_bn[from..],
    )?;

    // (b) Training loss: log₁₀ of the positive finite values, labelled with the values.
    let log = |v: f32| if v.is_finite() && v > 0.0 { f64::from(v).log10() } else { f64::NAN };
    let logs = data.loss_plain.iter().chain(&data.loss_bn).map(|&v| log(v) as f32);
    let y_range = padded_range(logs, 0.05, 0.25, (-2.0, 1.0));
    let mut chart = ChartBuilder::on(&panels[1])
        .caption(CURVE_TITLES[1], (FONT, 22))
        .margin(12)
        .margin_right(30)
        .x_label_area_size(42)
        .y_label_area_size(56)
        .build_cartesian_2d(x_range, y_range)?;
    chart
        .configure_mesh()
        .x_labels(6)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| two_significant(10f64.powf(*y)))
        .x_desc("Training step")
        .y_desc("Mean training loss")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .draw()?;
    for (label, values, color) in [("Without BN", &data.loss_plain, PLAIN_COLOR), ("With BN", &data.loss_bn, BN_COLOR)]
    {
        let points = finite_points(&data.steps, values.iter().map(|&v| log(v) as f32));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 22, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// `v > 0` with two significant digits and no trailing zeros: 0.0316 → `0.032`, 0.1 → `0.1`,
/// 3.16 → `3.2`, 20 → `20`.
fn two_significant(v: f64) -> String {
    let decimals = (1 - v.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Panel (a) of Figure 1, also the first panel of [`write_curves_svg`]: the test accuracy of
/// both networks against the training step, on `x_range`.
fn accuracy_panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    title: &str,
    x_range: Range<f64>,
    steps: &[usize],
    acc_plain: &[f32],
    acc_bn: &[f32],
) -> Result<(), Box<dyn Error>> {
    let acc = acc_plain.iter().chain(acc_bn);
    let acc_range = padded_range(acc.copied(), 0.02, 0.02, (0.0, 1.0));
    let acc_range = acc_range.start..acc_range.end.min(1.0).max(acc_range.start + 0.01);
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 22))
        .margin(12)
        .margin_right(30)
        .x_label_area_size(42)
        .y_label_area_size(56)
        .build_cartesian_2d(x_range, acc_range)?;
    chart
        .configure_mesh()
        .x_labels(6)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .x_desc("Training step")
        .y_desc("Test accuracy")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .draw()?;
    for (label, values, color) in [("Without BN", acc_plain, PLAIN_COLOR), ("With BN", acc_bn, BN_COLOR)] {
        chart
            .draw_series(LineSeries::new(finite_points(steps, values.iter().copied()), color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 22, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// The `(step, value)` points whose value is finite.
fn finite_points<'a>(
    steps: &'a [usize],
    values: impl Iterator<Item = f32> + 'a,
) -> impl Iterator<Item = (f64, f64)> + 'a {
    steps.iter().zip(values).filter(|(_, v)| v.is_finite()).map(|(&s, v)| (s as f64, f64::from(v)))
}

/// The range of the finite `values`, widened by `below` and `above` of its length (or
/// `default` if there is no finite value).
fn padded_range(values: impl Iterator<Item = f32>, below: f64, above: f64, default: (f64, f64)) -> Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .map(f64::from)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return default.0..default.1;
    }
    let span = (hi - lo).max(1e-3);
    lo - below * span..hi + above * span
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(got: [f32; 3], want: [f32; 3]) {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn percentiles_interpolate_linearly() {
        // Sorted 1 2 3 4 5: ranks 0.6, 2, 3.4.
        assert_close(percentiles(&mut [5.0, 1.0, 4.0, 2.0, 3.0]), [1.6, 3.0, 4.4]);
        // Ranks 0.15, 0.5, 0.85 between 10 and 20.
        assert_close(percentiles(&mut [20.0, 10.0]), [11.5, 15.0, 18.5]);
        // Sorted −7 −1 0.5 2 3 3 8: ranks 0.9 → −7 + 0.9·6, 3 → 2, 5.1 → 3 + 0.1·5.
        assert_close(percentiles(&mut [0.5, -1.0, 2.0, 8.0, 3.0, 3.0, -7.0]), [-1.6, 2.0, 3.5]);
        assert_eq!(percentiles(&mut [7.0]), [7.0; 3]);
        assert!(percentiles(&mut []).iter().all(|p| p.is_nan()));
        // 0..=100: the pth percentile is p.
        let mut v: Vec<f32> = (0..=100).rev().map(|i| i as f32).collect();
        assert_eq!(percentiles(&mut v), [15.0, 50.0, 85.0]);
    }

    fn temp_file(name: &str) -> std::path::PathBuf {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        std::env::temp_dir().join(format!("bn-paper-figure-{}-{nanos}-{name}", std::process::id()))
    }

    fn sample_data() -> FigureData {
        let steps: Vec<usize> = (0..=50).map(|i| i * 1000).collect();
        let t = |s: usize| s as f32 / 50_000.0;
        FigureData {
            test_acc_plain: steps.iter().map(|&s| 0.7 + 0.25 * t(s).sqrt()).collect(),
            test_acc_bn: steps.iter().map(|&s| 0.9 + 0.08 * t(s).sqrt()).collect(),
            pct_plain: steps.iter().map(|&s| [-1.0 - t(s), 0.5 * t(s), 1.0 + 2.0 * t(s)]).collect(),
            pct_bn: steps.iter().map(|_| [-1.0, 0.0, 1.0]).collect(),
            steps,
        }
    }

    #[test]
    fn figure_is_an_svg_with_three_panels() {
        let path = temp_file("fig1.svg");
        write_figure_svg(&path, &sample_data()).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(svg.len() > 5000, "only {} bytes", svg.len());
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        for title in PANEL_TITLES.iter().chain(&["Without BN", "With BN", "15th percentile", "Training step"]) {
            assert!(svg.contains(title), "no {title:?}");
        }
        // 2 + 3 + 3 curves.
        assert!(svg.matches("<polyline").count() >= 8);
    }

    fn sample_curves() -> CurveData {
        let d = sample_data();
        let loss = |s: usize, a: f32| if s == 0 { f32::NAN } else { a / (1.0 + s as f32 / 1000.0) };
        CurveData {
            loss_plain: d.steps.iter().map(|&s| loss(s, 2.0)).collect(),
            loss_bn: d.steps.iter().map(|&s| loss(s, 0.5)).collect(),
            steps: d.steps,
            test_acc_plain: d.test_acc_plain,
            test_acc_bn: d.test_acc_bn,
        }
    }

    #[test]
    fn two_significant_digits() {
        let got: Vec<String> = [0.0316, 0.1, 0.01, 0.00316, 0.316, 1.0, 3.162, 20.0, 0.2].map(two_significant).into();
        assert_eq!(got, ["0.032", "0.1", "0.01", "0.0032", "0.32", "1", "3.2", "20", "0.2"]);
    }

    #[test]
    fn curves_are_an_svg_with_two_panels() {
        let path = temp_file("curves.svg");
        write_curves_svg(&path, &sample_curves()).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        for title in CURVE_TITLES.iter().chain(&["Without BN", "With BN", "Training step", "Mean training loss"]) {
            assert!(svg.contains(title), "no {title:?}");
        }
        assert!(svg.matches("<polyline").count() >= 4);
    }

    #[test]
    fn curves_reject_bad_data_and_survive_odd_values() {
        let path = temp_file("badcurves.svg");
        let err = write_curves_svg(&path, &CurveData::default()).unwrap_err();
        assert!(err.to_string().contains("no recorded steps"));
        let mut data = sample_curves();
        data.loss_bn.pop();
        let err = write_curves_svg(&path, &data).unwrap_err();
        assert_eq!(err.to_string(), "curve data: loss_bn has 50 values for 51 steps");
        // One step, no loss yet (NaN), a zero and a negative loss: still a figure.
        let data = CurveData {
            steps: vec![0],
            test_acc_plain: vec![0.1],
            test_acc_bn: vec![f32::NAN],
            loss_plain: vec![f32::NAN],
            loss_bn: vec![0.0],
        };
        write_curves_svg(&path, &data).unwrap();
        let data = CurveData { loss_bn: vec![-1.0], ..data };
        write_curves_svg(&path, &data).unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().contains(CURVE_TITLES[1]));
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn figure_rejects_bad_data_and_survives_odd_values() {
        let path = temp_file("bad.svg");
        let err = write_figure_svg(&path, &FigureData::default()).unwrap_err();
        assert!(err.to_string().contains("no recorded steps"));
        let mut data = sample_data();
        data.pct_bn.pop();
        let err = write_figure_svg(&path, &data).unwrap_err();
        assert_eq!(err.to_string(), "figure data: pct_bn has 50 values for 51 steps");

        // One step, NaNs and infinities: still a figure.
        let data = FigureData {
            steps: vec![0],
            test_acc_plain: vec![f32::NAN],
            test_acc_bn: vec![0.5],
            pct_plain: vec![[f32::NEG_INFINITY, 0.0, f32::NAN]],
            pct_bn: vec![[0.0; 3]],
        };
        write_figure_svg(&path, &data).unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().contains(PANEL_TITLES[2]));
        let _ = std::fs::remove_file(&path);
        // An unwritable path is an error, not a panic.
        let dir = std::env::temp_dir().join("bn-paper-figure-no-such-dir").join("x.svg");
        assert!(write_figure_svg(&dir, &sample_data()).is_err());
    }
}
