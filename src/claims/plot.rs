//! The claims' figures: panels of lines over a linear or logarithmic x axis, drawn as SVG
//! with plotters (the style of [`crate::figure`]).

use std::error::Error;
use std::path::Path;

use plotters::prelude::*;

const FONT: &str = "sans-serif";
const PANEL_WIDTH: u32 = 620;
const HEIGHT: u32 = 440;
const COLORS: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x55, 0x55, 0x55),
];

/// One line: points `(x, y)`, and optionally a `(low, high)` band per point (drawn as a
/// vertical bar: the spread over seeds).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Line {
    /// The legend entry.
    pub name: String,
    /// The points, in x order; non-finite y values are left out.
    pub points: Vec<(f64, f64)>,
    /// The spread at each point (same length as `points`, or empty).
    pub bands: Vec<(f64, f64)>,
}

/// One panel.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Panel {
    /// The title above the panel.
    pub title: String,
    /// The x axis' description.
    pub x_desc: String,
    /// The y axis' description.
    pub y_desc: String,
    /// A logarithmic x axis (x > 0).
    pub log_x: bool,
    /// Names for integer x values 0, 1, 2, … (a categorical axis) instead of numbers.
    pub x_names: Vec<String>,
    /// The y range.
    pub y_range: (f64, f64),
    /// The lines.
    pub lines: Vec<Line>,
}

/// A figure: panels side by side.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figure {
    /// The panels, left to right.
    pub panels: Vec<Panel>,
}

impl Figure {
    /// Writes the figure to `path` as SVG.
    pub fn write_svg(&self, path: &Path) -> Result<(), Box<dyn Error>> {
        let n = self.panels.len().max(1);
        let root = SVGBackend::new(path, (PANEL_WIDTH * n as u32, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let areas = root.split_evenly((1, n));
        for (panel, area) in self.panels.iter().zip(&areas) {
            draw_panel(panel, area)?;
        }
        root.present()?;
        Ok(())
    }
}

fn draw_panel(panel: &Panel, area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> Result<(), Box<dyn Error>> {
    let tx = |x: f64| if panel.log_x { x.log10() } else { x };
    let xs = panel.lines.iter().flat_map(|l| l.points.iter().map(|p| tx(p.0)));
    let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
    let (lo, hi) = if lo.is_finite() && hi > lo { (lo, hi) } else { (0.0, 1.0) };
    let pad = if panel.x_names.is_empty() { 0.03 * (hi - lo) } else { 0.5 };
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 20))
        .margin(12)
        .margin_right(24)
        .x_label_area_size(42)
        .y_label_area_size(56)
        .build_cartesian_2d(lo - pad..hi + pad, panel.y_range.0..panel.y_range.1)?;
    let names = &panel.x_names;
    let x_fmt = |x: &f64| {
        if !names.is_empty() {
            let k = x.round();
            if (x - k).abs() < 1e-6 && k >= 0.0 {
                return names.get(k as usize).cloned().unwrap_or_default();
            }
            return String::new();
        }
        let v = if panel.log_x { 10f64.powf(*x) } else { *x };
        let s = format!("{v:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    };
    let x_labels = if names.is_empty() { 8 } else { names.len() * 2 + 1 };
    chart
        .configure_mesh()
        .x_labels(x_labels)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&|y| format!("{y:.2}"))
        .x_desc(panel.x_desc.as_str())
        .y_desc(panel.y_desc.as_str())
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .draw()?;
    for (k, line) in panel.lines.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let points: Vec<(f64, f64)> =
            line.points.iter().filter(|p| p.1.is_finite()).map(|&(x, y)| (tx(x), y)).collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(line.name.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 22, y)], color.stroke_width(2)));
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
        for (&(x, _), &(low, high)) in line.points.iter().zip(&line.bands) {
            if low.is_finite() && high.is_finite() {
                chart.draw_series(std::iter::once(PathElement::new(
                    [(tx(x), low), (tx(x), high)],
                    color.stroke_width(1),
                )))?;
            }
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}
