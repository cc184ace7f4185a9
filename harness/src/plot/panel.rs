//! The drawing pieces the figures share: a panel of one line per strategy (log or linear axes,
//! interval bars, markers) with its legend beside it, horizontal bar groups, markers and
//! legend entries. A panel may also draw bound lines: a limit a strategy's points cannot pass
//! (figure 6's span bound), dashed in the strategy's colour without markers.
//!
//! A line of one point is drawn as its marker alone: no segment, and (in the figures that fit)
//! no fitted value. Log axes reach a factor of 1.25 beyond their values and are labelled at
//! powers of ten; an axis that would hold fewer than two of them is widened to the enclosing
//! powers.

use std::ops::Range;

use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::CoordTranslate;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::plot::layout::{extents, label_area, tick_labels, Side, TICK_MARK};
use crate::plot::render::DrawResult;
use crate::plot::style::{strategy_style, text, Marker, StrategyStyle, Style, Unit};

/// One point of a line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// x.
    pub x: f64,
    /// y.
    pub y: f64,
    /// The confidence interval of y, drawn as an error bar.
    pub interval: Option<(f64, f64)>,
}

/// One strategy's series in a panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// The strategy (its style).
    pub strategy: String,
    /// The legend text.
    pub label: String,
    /// The points, by increasing x.
    pub points: Vec<Point>,
}

/// An axis of a panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// Its title.
    pub title: String,
    /// What its numbers are.
    pub unit: Unit,
    /// Logarithmic.
    pub log: bool,
}

/// A panel: a title, two axes and one line per strategy.
#[derive(Clone, Debug, PartialEq)]
pub struct LinePanel {
    /// The title above the plot.
    pub title: String,
    /// The x axis.
    pub x: Axis,
    /// The y axis.
    pub y: Axis,
    /// The lines, in legend order.
    pub lines: Vec<Line>,
    /// A reference line (e.g. ideal speedup) drawn thin and grey, with its legend text.
    pub reference: Option<(String, Vec<(f64, f64)>)>,
    /// Bound lines, one per strategy that has one: dashed in its colour, no markers, listed in
    /// the legend after the lines.
    pub bounds: Vec<Line>,
}

/// What a legend entry's key shows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LegendKey {
    /// A strategy's line: a segment and its marker.
    Line(StrategyStyle),
    /// A strategy's bar: a block in its colour.
    Bar(StrategyStyle),
    /// A strategy's bound line: a dashed segment in its colour.
    Bound(StrategyStyle),
    /// The reference line: a thin grey segment.
    Reference,
}

/// The width of the legend beside a panel (SVG px).
pub const LEGEND_WIDTH: f64 = 150.0;

/// The plotted range of `values` on an axis: powers of ten around them on a log axis, a
/// padded range on a linear one.
pub fn axis_range(values: impl Iterator<Item = f64>, log: bool) -> Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return if log { 1.0..10.0 } else { 0.0..1.0 };
    }
    if log {
        // A factor of 1.25 beyond each end keeps points off the frame; when that range holds
        // fewer than two powers of ten (the labelled ticks), widen it to the enclosing powers
        // of ten instead.
        let (padded_lo, padded_hi) = (lo / 1.25, hi * 1.25);
        let labelled = padded_hi.log10().floor() - padded_lo.log10().ceil() + 1.0;
        if labelled >= 2.0 {
            padded_lo..padded_hi
        } else {
            10f64.powf(padded_lo.log10().floor())..10f64.powf(padded_hi.log10().ceil())
        }
    } else {
        let pad = if hi > lo {
            (hi - lo) * 0.06
        } else {
            hi.abs().max(1.0) * 0.5
        };
        let lo = if lo >= 0.0 && lo - pad < 0.0 {
            0.0
        } else {
            lo - pad
        };
        lo..hi + pad
    }
}

/// `area` split into the plot and, on the right, a strip [`LEGEND_WIDTH`] wide (at most half
/// the area) for the legend.
fn split_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    style: Style,
) -> (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>) {
    let (w, _) = area.dim_in_pixel();
    let legend_w = style.upx(LEGEND_WIDTH).min(w / 2);
    area.split_horizontally(w - legend_w)
}

impl LinePanel {
    /// Draw the panel on `area`, its legend in a strip on the right.
    pub fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        style: Style,
    ) -> DrawResult<DB> {
        let (plot, legend) = split_legend(area, style);
        let xs = self.lines.iter().flat_map(|l| l.points.iter().map(|p| p.x));
        let ys = self.lines.iter().flat_map(|l| {
            l.points.iter().flat_map(|p| {
                let (lo, hi) = p.interval.unwrap_or((p.y, p.y));
                [p.y, lo, hi]
            })
        });
        let reference = self
            .reference
            .iter()
            .flat_map(|(_, pts)| pts.iter().copied())
            .chain(
                self.bounds
                    .iter()
                    .flat_map(|b| b.points.iter().map(|p| (p.x, p.y))),
            );
        let x_range = axis_range(xs.chain(reference.clone().map(|p| p.0)), self.x.log);
        let y_range = axis_range(ys.chain(reference.map(|p| p.1)), self.y.log);
        match (self.x.log, self.y.log) {
            (true, true) => self.draw_on(&plot, style, log(x_range), log(y_range))?,
            (true, false) => self.draw_on(&plot, style, log(x_range), lin(y_range))?,
            (false, true) => self.draw_on(&plot, style, lin(x_range), log(y_range))?,
            (false, false) => self.draw_on(&plot, style, lin(x_range), lin(y_range))?,
        }
        let mut entries: Vec<(LegendKey, String)> = self
            .lines
            .iter()
            .map(|l| {
                (
                    LegendKey::Line(strategy_style(&l.strategy)),
                    l.label.clone(),
                )
            })
            .collect();
        entries.extend(self.bounds.iter().map(|b| {
            (
                LegendKey::Bound(strategy_style(&b.strategy)),
                b.label.clone(),
            )
        }));
        if let Some((label, _)) = &self.reference {
            entries.push((LegendKey::Reference, label.clone()));
        }
        draw_legend(&legend, style, &entries, style.px(34.0))
    }

    fn draw_on<DB, X, Y>(
        &self,
        area: &DrawingArea<DB, Shift>,
        style: Style,
        x: X,
        y: Y,
    ) -> DrawResult<DB>
    where
        DB: DrawingBackend,
        X: Ranged<ValueType = f64> + ValueFormatter<f64>,
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let (xu, yu) = (self.x.unit, self.y.unit);
        let x_count = if self.x.log { 8 } else { 6 };
        let y_count = if self.y.log { 8 } else { 6 };
        let x_area = label_area(
            Side::Bottom,
            &tick_labels(&x, x_count, xu),
            &self.x.title,
            style,
        );
        let y_area = label_area(
            Side::Left,
            &tick_labels(&y, y_count, yu),
            &self.y.title,
            style,
        );
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, style.bold(text::TITLE))
            .margin(style.upx(6.0))
            .x_label_area_size(x_area)
            .y_label_area_size(y_area)
            .build_cartesian_2d(x, y)?;
        let x_fmt = move |v: &f64| xu.label(*v);
        let y_fmt = move |v: &f64| yu.label(*v);
        chart
            .configure_mesh()
            .set_all_tick_mark_size(style.px(TICK_MARK))
            .x_desc(&self.x.title)
            .y_desc(&self.y.title)
            .x_labels(x_count)
            .y_labels(y_count)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style(style.font(text::TICK))
            .axis_desc_style(style.font(text::AXIS))
            .light_line_style(RGBColor(0xEE, 0xEE, 0xEE))
            .bold_line_style(RGBColor(0xCC, 0xCC, 0xCC))
            .axis_style(BLACK.stroke_width(style.upx(1.0).max(1)))
            .draw()?;
        if let Some((_, pts)) = &self.reference {
            chart.draw_series(LineSeries::new(
                pts.iter().copied(),
                RGBColor(0x99, 0x99, 0x99).stroke_width(style.upx(1.0).max(1)),
            ))?;
        }
        for bound in &self.bounds {
            let s = strategy_style(&bound.strategy);
            chart.draw_series(DashedLineSeries::new(
                bound.points.iter().map(|p| (p.x, p.y)),
                style.px(4.0),
                style.px(4.0),
                s.colour.stroke_width(style.upx(1.0).max(1)),
            ))?;
        }
        for line in &self.lines {
            let s = strategy_style(&line.strategy);
            let stroke = s.colour.stroke_width(style.upx(1.5).max(1));
            let pts: Vec<(f64, f64)> = line.points.iter().map(|p| (p.x, p.y)).collect();
            if pts.len() > 1 {
                if s.dashed() {
                    chart.draw_series(DashedLineSeries::new(
                        pts.clone(),
                        style.px(5.0),
                        style.px(3.0),
                        stroke,
                    ))?;
                } else {
                    chart.draw_series(LineSeries::new(pts.clone(), stroke))?;
                }
            }
            let cap = style.px(3.0);
            for p in &line.points {
                if let Some((lo, hi)) = p.interval {
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(p.x, lo), (p.x, hi)],
                        stroke,
                    )))?;
                    for end in [lo, hi] {
                        chart.draw_series(std::iter::once(
                            EmptyElement::at((p.x, end))
                                + PathElement::new(vec![(-cap, 0), (cap, 0)], stroke),
                        ))?;
                    }
                }
            }
            let size = style.px(4.0);
            for (x, y) in pts {
                draw_marker(chart.plotting_area(), (x, y), s, size, style)?;
            }
        }
        Ok(())
    }
}

fn log(range: Range<f64>) -> LogCoord<f64> {
    range.log_scale().into()
}

fn lin(range: Range<f64>) -> RangedCoordf64 {
    range.into()
}

/// Draw the marker of `s` at `at` on `area` (in its coordinates), `size` pixels from centre
/// to corner: filled in the strategy's colour, or white with a coloured edge when hollow.
pub fn draw_marker<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    at: CT::From,
    s: StrategyStyle,
    size: i32,
    style: Style,
) -> DrawResult<DB>
where
    CT::From: Clone + 'static,
{
    let fill: ShapeStyle = if s.hollow {
        WHITE.filled()
    } else {
        s.colour.filled()
    };
    let edge = s.colour.stroke_width(style.upx(1.3).max(1));
    let r = size;
    match s.marker {
        Marker::Circle => area.draw(
            &(EmptyElement::at(at) + Circle::new((0, 0), r, fill) + Circle::new((0, 0), r, edge)),
        ),
        Marker::Plus => area.draw(
            &(EmptyElement::at(at)
                + PathElement::new(vec![(-r, 0), (r, 0)], edge)
                + PathElement::new(vec![(0, -r), (0, r)], edge)),
        ),
        Marker::Cross => {
            let stroke = s.colour.stroke_width(style.upx(2.0).max(1));
            area.draw(
                &(EmptyElement::at(at)
                    + PathElement::new(vec![(-r, -r), (r, r)], stroke)
                    + PathElement::new(vec![(-r, r), (r, -r)], stroke)),
            )
        }
        shape => {
            let points = match shape {
                Marker::Square => vec![(-r, -r), (r, -r), (r, r), (-r, r)],
                Marker::Triangle => vec![(0, -r - 1), (r + 1, r), (-r - 1, r)],
                Marker::TriangleDown => vec![(0, r + 1), (r + 1, -r), (-r - 1, -r)],
                Marker::Diamond => vec![(0, -r - 1), (r + 1, 0), (0, r + 1), (-r - 1, 0)],
                Marker::Hexagon => polygon(6, r + 1),
                Marker::Star => star(r + 2),
                Marker::Bowtie => vec![(-r - 1, -r), (r + 1, r), (r + 1, -r), (-r - 1, r)],
                Marker::Bar => vec![
                    (-r - 2, -r / 2),
                    (r + 2, -r / 2),
                    (r + 2, r / 2),
                    (-r - 2, r / 2),
                ],
                _ => polygon(5, r + 1),
            };
            let mut closed = points.clone();
            closed.push(points[0]);
            area.draw(
                &(EmptyElement::at(at)
                    + Polygon::new(points, fill)
                    + PathElement::new(closed, edge)),
            )
        }
    }
}

/// The vertices of a regular polygon with `sides` corners, one pointing up, `r` pixels from
/// its centre.
fn polygon(sides: usize, r: i32) -> Vec<(i32, i32)> {
    (0..sides)
        .map(|i| {
            let a =
                -std::f64::consts::FRAC_PI_2 + i as f64 * 2.0 * std::f64::consts::PI / sides as f64;
            (
                (a.cos() * r as f64).round() as i32,
                (a.sin() * r as f64).round() as i32,
            )
        })
        .collect()
}

/// The vertices of a five-pointed star, one point up, `r` pixels from its centre to a point.
fn star(r: i32) -> Vec<(i32, i32)> {
    polygon(10, r)
        .into_iter()
        .enumerate()
        .map(|(i, (x, y))| {
            if i % 2 == 1 {
                (x * 2 / 5, y * 2 / 5)
            } else {
                (x, y)
            }
        })
        .collect()
}

/// A legend: one entry per row, its key ([`LegendKey`]) and its text, starting `top` pixels
/// down `area`.
pub fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    style: Style,
    entries: &[(LegendKey, String)],
    top: i32,
) -> DrawResult<DB> {
    let row = style.px(17.0);
    let x0 = style.px(6.0);
    let seg = style.px(22.0);
    let font = style.font(text::LEGEND);
    for (i, (s, label)) in entries.iter().enumerate() {
        let y = top + i as i32 * row;
        match s {
            LegendKey::Bar(s) => {
                let h = style.px(5.0);
                area.draw(&Rectangle::new(
                    [(x0 + seg / 4, y - h), (x0 + seg * 3 / 4, y + h)],
                    s.colour.filled(),
                ))?;
            }
            LegendKey::Line(s) => {
                let stroke = s.colour.stroke_width(style.upx(1.5).max(1));
                area.draw(&PathElement::new(vec![(x0, y), (x0 + seg, y)], stroke))?;
                draw_marker(area, (x0 + seg / 2, y), *s, style.px(4.0), style)?;
            }
            LegendKey::Bound(s) => {
                let stroke = s.colour.stroke_width(style.upx(1.0).max(1));
                let dash = style.px(4.0);
                let mut x = x0;
                while x < x0 + seg {
                    area.draw(&PathElement::new(
                        vec![(x, y), ((x + dash).min(x0 + seg), y)],
                        stroke,
                    ))?;
                    x += 2 * dash;
                }
            }
            LegendKey::Reference => {
                let stroke = RGBColor(0x99, 0x99, 0x99).stroke_width(style.upx(1.0).max(1));
                area.draw(&PathElement::new(vec![(x0, y), (x0 + seg, y)], stroke))?;
            }
        }
        area.draw(&Text::new(
            label.clone(),
            (x0 + seg + style.px(6.0), y - style.px(text::LEGEND * 0.5)),
            font.clone(),
        ))?;
    }
    Ok(())
}

/// One bar of a horizontal bar chart: a strategy's value in a group, optionally split in two
/// stacked parts (the second drawn pale).
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// The strategy.
    pub strategy: String,
    /// The bar's end (first part), from the axis origin.
    pub value: f64,
    /// A second part stacked after the first, drawn pale.
    pub stacked: Option<f64>,
}

/// A group of bars under one label (a workload at a size).
#[derive(Clone, Debug, PartialEq)]
pub struct BarGroup {
    /// The group's label, left of its bars.
    pub label: String,
    /// Its bars, top to bottom.
    pub bars: Vec<Bar>,
}

/// A horizontal bar chart: groups top to bottom, the value axis along the bottom.
#[derive(Clone, Debug, PartialEq)]
pub struct BarChart {
    /// The title.
    pub title: String,
    /// The value axis.
    pub axis: Axis,
    /// The groups.
    pub groups: Vec<BarGroup>,
    /// The strategies in the legend, in order.
    pub legend: Vec<String>,
    /// Extra legend lines (explanations) under the strategies.
    pub legend_notes: Vec<String>,
    /// A vertical reference line (e.g. overhead 1) with its value.
    pub reference: Option<f64>,
}

/// The pixel height of one bar (SVG px).
pub const BAR_HEIGHT: f64 = 9.0;
/// The gap between groups, in bar heights.
pub const GROUP_GAP: f64 = 1.2;
/// The space left and right of the widest group label (SVG px).
pub const GROUP_LABEL_MARGIN: f64 = 6.0;

/// The number of labelled ticks on a bar chart's value axis.
const X_LABELS: usize = 6;

impl BarChart {
    /// The height in SVG px this chart needs.
    pub fn height(&self) -> u32 {
        let bars: usize = self.groups.iter().map(|g| g.bars.len()).sum();
        let slots = bars as f64 + GROUP_GAP * self.groups.len() as f64;
        (slots * BAR_HEIGHT + 90.0).max(200.0).ceil() as u32
    }

    /// Draw on `area`, the legend in a strip on the right.
    pub fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        style: Style,
    ) -> DrawResult<DB> {
        let (plot, legend) = split_legend(area, style);
        let values = self
            .groups
            .iter()
            .flat_map(|g| g.bars.iter().map(|b| b.value + b.stacked.unwrap_or(0.0)));
        let mut range = axis_range(values.chain(self.reference), self.axis.log);
        if !self.axis.log {
            range.start = range.start.min(0.0);
        }
        // Slots from the top: group gap, then one slot per bar.
        let slots: f64 = self
            .groups
            .iter()
            .map(|g| g.bars.len() as f64 + GROUP_GAP)
            .sum::<f64>()
            .max(1.0);
        if self.axis.log {
            self.draw_on(&plot, style, log(range), slots)?;
        } else {
            self.draw_on(&plot, style, lin(range), slots)?;
        }
        let entries: Vec<(LegendKey, String)> = self
            .legend
            .iter()
            .map(|s| (LegendKey::Bar(strategy_style(s)), s.clone()))
            .collect();
        let top = style.px(34.0);
        draw_legend(&legend, style, &entries, top)?;
        let font = style.font(text::LEGEND);
        let row = style.px(17.0);
        for (i, note) in self.legend_notes.iter().enumerate() {
            let y = top + (entries.len() + i) as i32 * row;
            legend.draw(&Text::new(note.clone(), (style.px(6.0), y), font.clone()))?;
        }
        Ok(())
    }

    fn draw_on<DB, X>(
        &self,
        area: &DrawingArea<DB, Shift>,
        style: Style,
        x: X,
        slots: f64,
    ) -> DrawResult<DB>
    where
        DB: DrawingBackend,
        X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let origin = if self.axis.log {
            x.range().start
        } else {
            0.0f64.max(x.range().start)
        };
        let unit = self.axis.unit;
        let x_area = label_area(
            Side::Bottom,
            &tick_labels(&x, X_LABELS, unit),
            &self.axis.title,
            style,
        );
        // The group labels, left of the axis, take the widest of them and a margin each side.
        let font = style.font(text::TICK);
        let label_margin = style.px(GROUP_LABEL_MARGIN);
        let (widest, _) = extents(self.groups.iter().map(|g| g.label.as_str()), &font);
        let group_area = widest as i32 + 2 * label_margin;
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, style.bold(text::TITLE))
            .margin(style.upx(6.0))
            .x_label_area_size(x_area)
            .y_label_area_size(group_area.max(0) as u32)
            .build_cartesian_2d(x, slots..0.0)?;
        let x_fmt = move |v: &f64| unit.label(*v);
        chart
            .configure_mesh()
            .set_all_tick_mark_size(style.px(TICK_MARK))
            .disable_y_mesh()
            .y_labels(0)
            .x_desc(&self.axis.title)
            .x_labels(X_LABELS)
            .x_label_formatter(&x_fmt)
            .label_style(style.font(text::TICK))
            .axis_desc_style(style.font(text::AXIS))
            .light_line_style(RGBColor(0xEE, 0xEE, 0xEE))
            .bold_line_style(RGBColor(0xCC, 0xCC, 0xCC))
            .axis_style(BLACK.stroke_width(style.upx(1.0).max(1)))
            .draw()?;
        let mut slot = 0.0;
        for group in &self.groups {
            slot += GROUP_GAP;
            let first = slot;
            let middle = slot + group.bars.len() as f64 / 2.0;
            let (px, py) = chart.backend_coord(&(origin, middle));
            let label_x = px - group_area + label_margin;
            area.draw(&Text::new(
                group.label.clone(),
                (
                    label_x - area.get_base_pixel().0,
                    py - style.px(text::TICK * 0.5) - area.get_base_pixel().1,
                ),
                font.clone(),
            ))?;
            for bar in &group.bars {
                let s = strategy_style(&bar.strategy);
                let (top, bottom) = (slot + 0.08, slot + 0.92);
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(origin, top), (bar.value, bottom)],
                    s.colour.filled(),
                )))?;
                if let Some(extra) = bar.stacked {
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(bar.value, top), (bar.value + extra, bottom)],
                        s.colour.mix(0.35).filled(),
                    )))?;
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(bar.value, top), (bar.value + extra, bottom)],
                        s.colour.stroke_width(1),
                    )))?;
                }
                slot += 1.0;
            }
            // The floor's value, dashed across the whole group, over the other bars.
            for bar in &group.bars {
                let s = strategy_style(&bar.strategy);
                if s.floor {
                    chart.draw_series(DashedLineSeries::new(
                        [(bar.value, first), (bar.value, slot)],
                        style.px(4.0),
                        style.px(3.0),
                        s.colour.stroke_width(style.upx(1.5).max(1)),
                    ))?;
                }
            }
        }
        if let Some(r) = self.reference {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(r, 0.0), (r, slots)],
                BLACK.stroke_width(style.upx(1.0).max(1)),
            )))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_axes_pad_their_values_and_hold_two_powers_of_ten() {
        let r = axis_range([4.0, 1000.0].into_iter(), true);
        assert!(
            (r.start - 3.2).abs() < 1e-9 && (r.end - 1250.0).abs() < 1e-9,
            "{r:?}"
        );
        // 150..300 holds no power of ten: widened to 100..1000.
        assert_eq!(axis_range([150.0, 300.0].into_iter(), true), 100.0..1000.0);
        // A single value on a power of ten is not on the frame.
        let r = axis_range([100.0].into_iter(), true);
        assert!(r.start < 100.0 && r.end > 100.0, "{r:?}");
        // Non-positive values cannot be on a log axis and are ignored.
        assert_eq!(axis_range([0.0, -1.0].into_iter(), true), 1.0..10.0);
    }

    #[test]
    fn linear_axes_pad_and_keep_zero_for_non_negative_values() {
        let r = axis_range([0.02, 1.0].into_iter(), false);
        assert_eq!(r.start, 0.0);
        assert!(r.end > 1.0);
        let r = axis_range([5.0].into_iter(), false);
        assert!(r.start < 5.0 && r.end > 5.0);
    }
}
