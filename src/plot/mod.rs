//! Every figure of the experiments, drawn as SVG with plotters in one style: a [`Figure`] is
//! panels side by side; a [`Panel`] has a title, the legend in a strip under it (never on
//! the data), and lines (with optional min–max bars) over a linear, logarithmic or
//! categorical x axis and a linear or logarithmic y axis, ticked by [`ticks`].
//!
//! ```
//! use bn_paper::plot::{Axis, Figure, Line, Panel};
//! let panel = Panel {
//!     title: "Test accuracy".into(),
//!     x: Axis::log("Learning rate"),
//!     y: Axis::linear("Accuracy").fixed(0.0, 1.0),
//!     lines: vec![Line::new("With BN", vec![(0.1, 0.9), (1.0, 0.92), (10.0, 0.93)])],
//! };
//! let svg = Figure { panels: vec![panel] }.to_svg().unwrap();
//! // Ticks at 0.1, 1 and 10 (each label is a line of its own).
//! assert!(["0.1", "1", "10", "With BN"].iter().all(|text| svg.lines().any(|l| l == *text)));
//! ```

pub mod ticks;

use std::error::Error;
use std::ops::Range;
use std::path::Path;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Width of a panel in pixels.
pub const PANEL_WIDTH: u32 = 540;
/// Height of a figure in pixels.
pub const HEIGHT: u32 = 460;
const FONT: &str = "sans-serif";
const TITLE_SIZE: u32 = 20;
const LABEL_SIZE: u32 = 13;
const DESC_SIZE: u32 = 15;
const LEGEND_SIZE: u32 = 14;
/// The height of a row of the legend strip.
const LEGEND_ROW: u32 = 22;
/// Lines of at most this many points are drawn with a marker at each point.
const MARKED_POINTS: usize = 25;
/// At most this many ticks on an axis.
const MAX_TICKS: usize = 10;
/// The colors of the lines, in order.
pub const PALETTE: [(u8, u8, u8); 6] = [
    (0x1f, 0x77, 0xb4),
    (0xd6, 0x27, 0x28),
    (0x2c, 0xa0, 0x2c),
    (0x94, 0x67, 0xbd),
    (0xff, 0x7f, 0x0e),
    (0x55, 0x55, 0x55),
];

/// How an axis maps values.
#[derive(Clone, Debug, PartialEq)]
pub enum Scale {
    /// Linear, ticked at multiples of 1, 2 or 5 × 10ᵏ.
    Linear,
    /// Logarithmic (values ≤ 0 are left out), ticked at 1, 2 and 5 × 10ᵏ or the decades.
    Log,
    /// Named categories at the integer values 0, 1, 2, … (x axis only).
    Categories(Vec<String>),
}

/// The range an axis shows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Extent {
    /// Exactly this range.
    Fixed(f64, f64),
    /// The data's: their range widened by 5 % on each side (on a log axis, of the decades,
    /// and out to the next 1, 2 or 5 × 10ᵏ if it would show fewer than two ticks), clipped
    /// to `within` on a linear axis.
    Data {
        /// The linear range to stay within (e.g. `(0, 1)` for an accuracy).
        within: (f64, f64),
    },
}

/// An axis: its description, scale and range.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// What the axis shows (drawn along it).
    pub label: String,
    /// How it maps values.
    pub scale: Scale,
    /// The range it shows.
    pub extent: Extent,
}

impl Axis {
    /// A linear axis over the data's range.
    pub fn linear(label: &str) -> Self {
        Axis { label: label.into(), scale: Scale::Linear, extent: Extent::Data { within: (f64::MIN, f64::MAX) } }
    }

    /// A logarithmic axis over the data's range.
    pub fn log(label: &str) -> Self {
        Axis { scale: Scale::Log, ..Axis::linear(label) }
    }

    /// A categorical axis: `names[k]` at `x = k`.
    pub fn categories(label: &str, names: &[&str]) -> Self {
        Axis { scale: Scale::Categories(names.iter().map(|n| n.to_string()).collect()), ..Axis::linear(label) }
    }

    /// The same axis over exactly `lo..hi`.
    pub fn fixed(self, lo: f64, hi: f64) -> Self {
        Axis { extent: Extent::Fixed(lo, hi), ..self }
    }

    /// The same axis over the data's range, clipped to `lo..hi`.
    pub fn within(self, lo: f64, hi: f64) -> Self {
        Axis { extent: Extent::Data { within: (lo, hi) }, ..self }
    }
}

/// One line: points `(x, y)` (non-finite ones, and on a log axis non-positive ones, are
/// left out), optionally with a `(low, high)` bar at each point (e.g. the spread over
/// seeds).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Line {
    /// The legend entry.
    pub name: String,
    /// The points, in x order.
    pub points: Vec<(f64, f64)>,
    /// The bar at each point (same length as `points`, or empty).
    pub bands: Vec<(f64, f64)>,
    /// The color as RGB; `None`: the [`PALETTE`] color of the line's place in its panel.
    pub color: Option<(u8, u8, u8)>,
}

impl Line {
    /// A line without bars in its palette color.
    pub fn new(name: &str, points: Vec<(f64, f64)>) -> Self {
        Line { name: name.into(), points, ..Line::default() }
    }

    /// The same line with a `(low, high)` bar at each point.
    pub fn with_bands(self, bands: Vec<(f64, f64)>) -> Self {
        Line { bands, ..self }
    }

    /// The same line in `color` (RGB).
    pub fn with_color(self, color: (u8, u8, u8)) -> Self {
        Line { color: Some(color), ..self }
    }
}

/// One panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// The title above the panel.
    pub title: String,
    /// The x axis.
    pub x: Axis,
    /// The y axis (not categorical).
    pub y: Axis,
    /// The lines.
    pub lines: Vec<Line>,
}

/// A figure: panels side by side, each [`PANEL_WIDTH`] wide.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figure {
    /// The panels, left to right.
    pub panels: Vec<Panel>,
}

impl Figure {
    /// The figure as an SVG document.
    pub fn to_svg(&self) -> Result<String, Box<dyn Error>> {
        let mut svg = String::new();
        {
            let n = self.panels.len().max(1);
            let root = SVGBackend::with_string(&mut svg, (PANEL_WIDTH * n as u32, HEIGHT)).into_drawing_area();
            root.fill(&WHITE)?;
            for (panel, area) in self.panels.iter().zip(root.split_evenly((1, n))) {
                draw_panel(panel, &area)?;
            }
            root.present()?;
        }
        Ok(svg)
    }

    /// Writes the figure to `path` as SVG, replacing the file atomically (written beside it
    /// under another name, then renamed).
    pub fn write_svg(&self, path: &Path) -> Result<(), Box<dyn Error>> {
        let svg = self.to_svg()?;
        let name = path.file_name().ok_or_else(|| format!("{}: not a file name", path.display()))?;
        let tmp = path.with_file_name(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
        std::fs::write(&tmp, svg).and_then(|()| std::fs::rename(&tmp, path)).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("{}: {e}", path.display())
        })?;
        Ok(())
    }
}

/// An axis as drawn: the range in drawing coordinates (log₁₀ of the values on a log axis),
/// the ticks there with their labels, and the map from values to drawing coordinates.
struct Drawn {
    range: Range<f64>,
    ticks: Vec<(f64, String)>,
    log: bool,
}

impl Drawn {
    /// `v` in drawing coordinates, if it can be drawn.
    fn at(&self, v: f64) -> Option<f64> {
        let c = if self.log { (v > 0.0).then(|| v.log10())? } else { v };
        c.is_finite().then_some(c)
    }

    fn coord(&self) -> Ticked {
        Ticked { inner: self.range.clone().into(), ticks: self.ticks.iter().map(|t| t.0).collect() }
    }

    fn label(&self, c: f64) -> String {
        let near = |t: &&(f64, String)| (t.0 - c).abs() <= 1e-9 * (1.0 + c.abs());
        self.ticks.iter().find(near).map(|t| t.1.clone()).unwrap_or_default()
    }
}

/// A plotters coordinate whose grid lines and labels are at our ticks (plotters' own pick
/// evenly spaced values of the drawing coordinate: 10^0.5 = 3.162 on a log axis).
struct Ticked {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Bold grid lines and labels at the ticks, no light grid lines.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }
}

/// The range of the finite `values` of a linear axis, widened by 5 % of its length on each
/// side (at least ±0.5 around a single value) and clipped to `within`; `within` itself (or
/// `0..1`) when there is no finite value.
pub fn linear_extent(values: impl IntoIterator<Item = f64>, within: (f64, f64)) -> (f64, f64) {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo > hi {
        if within.0 > f64::MIN && within.1 < f64::MAX {
            within
        } else {
            (0.0, 1.0)
        }
    } else if hi - lo < 1e-9 {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
    };
    let (lo, hi) = (lo.max(within.0), hi.min(within.1));
    if hi > lo {
        (lo, hi)
    } else {
        (lo, lo + 1.0)
    }
}

/// Lays out `axis` for `values` (the data along it).
fn lay_out(axis: &Axis, values: impl Iterator<Item = f64>) -> Drawn {
    match &axis.scale {
        Scale::Categories(names) => Drawn {
            range: -0.5..names.len().max(1) as f64 - 0.5,
            ticks: names.iter().enumerate().map(|(k, n)| (k as f64, n.clone())).collect(),
            log: false,
        },
        Scale::Linear => {
            let (lo, hi) = match axis.extent {
                Extent::Fixed(lo, hi) => (lo, if hi > lo { hi } else { lo + 1.0 }),
                Extent::Data { within } => linear_extent(values, within),
            };
            Drawn { range: lo..hi, ticks: ticks::linear(lo, hi, MAX_TICKS - 2), log: false }
        }
        Scale::Log => {
            let (lo, hi) = match axis.extent {
                Extent::Fixed(lo, hi) => (lo.log10(), hi.log10()),
                Extent::Data { .. } => {
                    let positive = values.filter(|v| v.is_finite() && *v > 0.0);
                    let (lo, hi) = positive.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
                    let (lo, hi) = if lo > hi { (1.0, 10.0) } else { (lo, hi) };
                    let pad = (0.05 * (hi.log10() - lo.log10())).max(0.05);
                    let (padded_lo, padded_hi) = (lo.log10() - pad, hi.log10() + pad);
                    if ticks::log(10f64.powf(padded_lo), 10f64.powf(padded_hi), MAX_TICKS).len() >= 2 {
                        (padded_lo, padded_hi)
                    } else {
                        // Too narrow for two ticks: out to the next 1, 2 or 5 × 10ᵏ.
                        let (lo, hi) = (ticks::floor_125(lo), ticks::ceil_125(hi));
                        (lo.log10(), if hi > lo { hi } else { ticks::ceil_125(hi * 1.5) }.log10())
                    }
                }
            };
            let (lo, hi) = if lo.is_finite() && hi > lo { (lo, hi) } else { (0.0, 1.0) };
            let ticks = ticks::log(10f64.powf(lo), 10f64.powf(hi), MAX_TICKS);
            Drawn { range: lo..hi, ticks: ticks.into_iter().map(|(v, l)| (v.log10(), l)).collect(), log: true }
        }
    }
}

/// A legend entry's width in pixels: the line sample, the gap, the name (an estimate: SVG
/// fixes no font), the space before the next.
fn entry_width(name: &str) -> i32 {
    28 + (0.58 * LEGEND_SIZE as f64 * name.chars().count() as f64).ceil() as i32 + 22
}

/// The legend's entries in rows that fit `width`: each row a list of line indices.
fn legend_rows(lines: &[Line], width: i32) -> Vec<Vec<usize>> {
    let mut rows: Vec<Vec<usize>> = Vec::new();
    let mut used = i32::MAX;
    for (k, line) in lines.iter().enumerate() {
        let w = entry_width(&line.name);
        if used.saturating_add(w) > width {
            rows.push(Vec::new());
            used = 0;
        }
        rows.last_mut().expect("a row").push(k);
        used += w;
    }
    rows
}

fn color_of(lines: &[Line], k: usize) -> RGBColor {
    let (r, g, b) = lines[k].color.unwrap_or(PALETTE[k % PALETTE.len()]);
    RGBColor(r, g, b)
}

/// Draws the legend of `lines` into `area`, the rows centred.
fn draw_legend(
    lines: &[Line],
    rows: &[Vec<usize>],
    area: &DrawingArea<SVGBackend<'_>, Shift>,
) -> Result<(), Box<dyn Error>> {
    let (width, _) = area.dim_in_pixel();
    let font = (FONT, LEGEND_SIZE).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
    for (r, row) in rows.iter().enumerate() {
        let total: i32 = row.iter().map(|&k| entry_width(&lines[k].name)).sum::<i32>() - 22;
        let mut x = (width as i32 - total).max(0) / 2;
        let y = (r as u32 * LEGEND_ROW + LEGEND_ROW / 2) as i32;
        for &k in row {
            let color = color_of(lines, k);
            area.draw(&PathElement::new([(x, y), (x + 22, y)], color.stroke_width(2)))?;
            if lines[k].points.len() <= MARKED_POINTS {
                area.draw(&Circle::new((x + 11, y), 3, color.filled()))?;
            }
            area.draw(&Text::new(lines[k].name.clone(), (x + 28, y), font.clone()))?;
            x += entry_width(&lines[k].name);
        }
    }
    Ok(())
}

fn draw_panel(panel: &Panel, area: &DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), Box<dyn Error>> {
    let area = area.titled(&panel.title, (FONT, TITLE_SIZE))?;
    let (width, _) = area.dim_in_pixel();
    let rows = legend_rows(&panel.lines, width as i32 - 20);
    let (legend, plot) = area.split_vertically(rows.len() as u32 * LEGEND_ROW + 4);
    draw_legend(&panel.lines, &rows, &legend)?;

    let xs = panel.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
    let ys =
        panel.lines.iter().flat_map(|l| l.points.iter().map(|p| p.1).chain(l.bands.iter().flat_map(|b| [b.0, b.1])));
    let (x, y) = (lay_out(&panel.x, xs), lay_out(&panel.y, ys));
    let mut chart = ChartBuilder::on(&plot)
        .margin(10)
        .margin_right(24)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(x.coord(), y.coord())?;
    chart
        .configure_mesh()
        .x_label_formatter(&|c| x.label(*c))
        .y_label_formatter(&|c| y.label(*c))
        .x_desc(panel.x.label.as_str())
        .y_desc(panel.y.label.as_str())
        .label_style((FONT, LABEL_SIZE))
        .axis_desc_style((FONT, DESC_SIZE))
        .draw()?;
    for (k, line) in panel.lines.iter().enumerate() {
        let color = color_of(&panel.lines, k);
        let at = |(px, py): (f64, f64)| Some((x.at(px)?, y.at(py)?));
        let points: Vec<(f64, f64)> = line.points.iter().filter_map(|&p| at(p)).collect();
        chart.draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))?;
        if line.points.len() <= MARKED_POINTS {
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
        }
        for (&(px, _), &(low, high)) in line.points.iter().zip(&line.bands) {
            if let (Some(a), Some(b)) = (at((px, low)), at((px, high))) {
                chart.draw_series(std::iter::once(PathElement::new([a, b], color.stroke_width(1))))?;
            }
        }
    }
    Ok(())
}

/// The text of every `<text>` element of an SVG written here (titles, legends, tick
/// labels), trimmed: what the tests read.
#[cfg(test)]
pub(crate) fn svg_texts(svg: &str) -> Vec<String> {
    let texts = svg.split("<text").skip(1);
    texts.filter_map(|t| Some(t.split_once('>')?.1.split_once("</text>")?.0.trim().to_string())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel(x: Axis, lines: Vec<Line>) -> Panel {
        Panel { title: "T".into(), x, y: Axis::linear("y").within(0.0, 1.0), lines }
    }

    #[test]
    fn log_axes_are_labelled_at_1_2_5() {
        let rates = [0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0];
        let line = Line::new("With BN", rates.iter().map(|&r| (r, 0.9)).collect());
        let svg = Figure { panels: vec![panel(Axis::log("Learning rate"), vec![line])] }.to_svg().unwrap();
        let texts = svg_texts(&svg);
        for label in ["0.05", "0.1", "0.2", "0.5", "1", "2", "5", "10", "20", "50"] {
            assert!(texts.iter().any(|t| t == label), "no tick {label}: {texts:?}");
        }
        assert!(!svg.contains("3.162") && !svg.contains("31.623"));
    }

    #[test]
    fn the_legend_is_above_the_plotting_area() {
        // A line along the top of the data: the legend's text must lie above the highest
        // point drawn (SVG y grows downwards).
        let line = Line::new("Along the top", (0..10).map(|i| (f64::from(i), 1.0)).collect());
        let svg = Figure { panels: vec![panel(Axis::linear("x"), vec![line])] }.to_svg().unwrap();
        let attr = |s: &str, name: &str| -> f64 {
            let v = s.split(&format!(" {name}=\"")).nth(1).unwrap().split('"').next().unwrap();
            v.parse().unwrap()
        };
        let legend = svg.split("<text").find(|t| t.contains("Along the top")).unwrap();
        let circles: Vec<f64> = svg.split("<circle").skip(1).map(|c| attr(c, "cy")).collect();
        // The legend's marker, then one per point.
        assert_eq!(circles.len(), 11);
        let legend_y = attr(legend, "y");
        assert!(circles[1..].iter().all(|&cy| cy > legend_y + 10.0), "legend at {legend_y}, points at {circles:?}");
    }

    #[test]
    fn legends_wrap_and_lines_keep_their_colors() {
        let lines: Vec<Line> =
            (0..6).map(|k| Line::new(&format!("a rather long legend entry {k}"), vec![(0.0, 0.5)])).collect();
        let rows = legend_rows(&lines, 500);
        assert!(rows.len() >= 2 && rows.iter().all(|r| !r.is_empty()));
        assert_eq!(rows.concat(), (0..6).collect::<Vec<_>>());
        let lines = vec![Line::new("a", vec![]), Line::new("b", vec![]).with_color((1, 2, 3))];
        assert_eq!(color_of(&lines, 0), RGBColor(0x1f, 0x77, 0xb4));
        assert_eq!(color_of(&lines, 1), RGBColor(1, 2, 3));
    }

    #[test]
    fn extents() {
        let (lo, hi) = linear_extent([0.2, 0.6], (0.0, 1.0));
        assert!((lo - 0.18).abs() < 1e-12 && (hi - 0.62).abs() < 1e-12, "{lo} {hi}");
        assert_eq!(linear_extent([0.5, 1.0], (0.0, 1.0)), (0.475, 1.0));
        assert_eq!(linear_extent([f64::NAN], (0.0, 1.0)), (0.0, 1.0));
        assert_eq!(linear_extent([3.0], (f64::MIN, f64::MAX)), (2.5, 3.5));
        // A log axis over losses from 0.031 to 2.4, widened by 5 % of its decades.
        let d = lay_out(&Axis::log("loss"), [0.031, 2.4, f64::NAN, 0.0, -1.0].into_iter());
        let labels: Vec<&str> = d.ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, ["0.05", "0.1", "0.2", "0.5", "1", "2"]);
        let pad = 0.05 * (2.4f64.log10() - 0.031f64.log10());
        assert!((d.range.start - (0.031f64.log10() - pad)).abs() < 1e-12);
        assert!((d.range.end - (2.4f64.log10() + pad)).abs() < 1e-12);
        // Too narrow for two ticks: out to 1, 2 or 5 × 10ᵏ.
        let d = lay_out(&Axis::log("loss"), [0.3, 0.45].into_iter());
        let labels: Vec<&str> = d.ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!((labels, d.range.start, d.range.end), (vec!["0.2", "0.5"], 0.2f64.log10(), 0.5f64.log10()));
        // Categories sit at 0, 1, 2.
        let d = lay_out(&Axis::categories("m", &["a", "b", "c"]), std::iter::empty());
        assert_eq!((d.range.clone(), d.label(1.0)), (-0.5..2.5, "b".to_string()));
    }

    #[test]
    fn svg_files_are_written_whole_or_not_at_all() {
        let dir = std::env::temp_dir().join(format!("bn-paper-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.svg");
        let fig = Figure { panels: vec![panel(Axis::linear("x"), vec![Line::new("l", vec![(0.0, 0.1), (1.0, 0.9)])])] };
        fig.write_svg(&path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary file left");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(fig.write_svg(&dir.join("no-such-dir").join("x.svg")).is_err());
    }
}
