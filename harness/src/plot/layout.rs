//! The space beside a plot that an axis's tick labels and title take, worked out from their
//! measured extents in the bundled font, so that no tick label runs into the axis title
//! however wide the labels are (`9.77 KiB` is wider than `10 ms`).
//!
//! plotters puts a tick label twice the tick mark's length from the axis and the axis title
//! at the far edge of the label area (rotated, for the y axis). The label area is therefore
//! two tick marks, the widest (for the y axis) or tallest (x axis) tick label, a gap and the
//! title's height.

use plotters::coord::ranged1d::{BoldPoints, Ranged};
use plotters::style::TextStyle;

use crate::plot::style::{register_font, text, Style, Unit};

/// The length of a tick mark (SVG px).
pub const TICK_MARK: f64 = 4.0;

/// The gap between the tick labels and the axis title (SVG px).
const GAP: f64 = 6.0;

/// The widest and the tallest of `texts` in `font`, px (0 for text the font cannot measure).
pub fn extents<'a>(texts: impl IntoIterator<Item = &'a str>, font: &TextStyle) -> (u32, u32) {
    register_font();
    texts
        .into_iter()
        .filter_map(|t| font.font.box_size(t).ok())
        .fold((0, 0), |(w, h), (tw, th)| (w.max(tw), h.max(th)))
}

/// The tick labels plotters draws on `axis` with `count` labels: its bold key points in `unit`.
pub fn tick_labels<R: Ranged<ValueType = f64>>(axis: &R, count: usize, unit: Unit) -> Vec<String> {
    axis.key_points(BoldPoints(count))
        .into_iter()
        .map(|v| unit.label(v))
        .collect()
}

/// Which side of the plot an axis's labels are on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Left of the plot: labels beside each other's ends, so their width counts.
    Left,
    /// Below the plot: labels above each other's, so their height counts.
    Bottom,
}

/// The size (px of the output) of the label area on `side` for `labels` and `title`.
pub fn label_area(side: Side, labels: &[String], title: &str, style: Style) -> u32 {
    let (width, height) = extents(labels.iter().map(String::as_str), &style.font(text::TICK));
    let across = match side {
        Side::Left => width,
        Side::Bottom => height,
    };
    let title_height = if title.is_empty() {
        0
    } else {
        extents([title], &style.font(text::AXIS)).1 + style.upx(GAP)
    };
    2 * style.upx(TICK_MARK) + across + title_height + style.upx(2.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::panel::{Axis, Bar, BarChart, BarGroup, Line, LinePanel, Point};
    use crate::plot::style::FONT_FAMILY;
    use plotters::coord::Shift;
    use plotters::prelude::*;

    /// A text element of an SVG: its content and the box it covers.
    #[derive(Debug)]
    struct TextBox {
        text: String,
        left: f64,
        right: f64,
        top: f64,
        bottom: f64,
    }

    impl TextBox {
        fn intersects(&self, other: &TextBox) -> bool {
            self.left < other.right
                && other.left < self.right
                && self.top < other.bottom
                && other.top < self.bottom
        }
    }

    /// Every text of `svg` as the box it covers, measured in the bundled font (plotters writes
    /// `font-size` as its size / 1.24) and placed by its anchor, its `dy` and a rotation.
    fn text_boxes(svg: &str) -> Vec<TextBox> {
        let doc = roxmltree::Document::parse(svg).unwrap();
        doc.descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| {
                let number = |name: &str| n.attribute(name).unwrap().parse::<f64>().unwrap();
                let (x, y) = (number("x"), number("y"));
                let content = n.text().unwrap_or("").trim().to_string();
                let size = number("font-size") * 1.24;
                let font = TextStyle::from((FONT_FAMILY, size));
                let (w, h) = extents([content.as_str()], &font);
                let (w, h) = (f64::from(w), f64::from(h));
                // Along the text: from the anchor; across it: from the baseline shift.
                let along = match n.attribute("text-anchor") {
                    Some("end") => (-w, 0.0),
                    Some("middle") => (-w / 2.0, w / 2.0),
                    _ => (0.0, w),
                };
                let across = match n.attribute("dy") {
                    Some("0.76em") => (0.0, h),
                    Some("-0.5ex") => (-h, 0.0),
                    _ => (-h / 2.0, h / 2.0),
                };
                let rotated = n
                    .attribute("transform")
                    .is_some_and(|t| t.starts_with("rotate(270"));
                let (left, right, top, bottom) = if rotated {
                    // Rotated by -90 degrees about (x, y): along the text is up the page,
                    // down the text is to the right.
                    (x + across.0, x + across.1, y - along.1, y - along.0)
                } else {
                    (x + along.0, x + along.1, y + across.0, y + across.1)
                };
                TextBox {
                    text: content,
                    left,
                    right,
                    top,
                    bottom,
                }
            })
            .collect()
    }

    /// Draw `draw` on an SVG of `size` and return its text.
    fn svg_of(size: (u32, u32), draw: impl Fn(&DrawingArea<SVGBackend, Shift>)) -> String {
        register_font();
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
            root.fill(&WHITE).unwrap();
            draw(&root);
            root.present().unwrap();
        }
        svg
    }

    /// No tick label of `svg` intersects a title among `titles`.
    fn assert_no_label_on_a_title(svg: &str, titles: &[&str], what: &str) {
        let boxes = text_boxes(svg);
        let (titles, labels): (Vec<&TextBox>, Vec<&TextBox>) = boxes
            .iter()
            .partition(|b| titles.contains(&b.text.as_str()));
        assert!(
            titles.len() >= 2,
            "{what}: the axis titles are not both there"
        );
        for title in &titles {
            for label in &labels {
                assert!(
                    !label.intersects(title),
                    "{what}: the label {label:?} overlaps the title {title:?}"
                );
            }
        }
    }

    fn panel(unit: Unit, values: &[f64]) -> LinePanel {
        let points = values
            .iter()
            .enumerate()
            .map(|(i, &y)| Point {
                x: 10f64.powi(i as i32 + 2),
                y,
                interval: None,
            })
            .collect();
        LinePanel {
            title: "lse".into(),
            x: Axis {
                title: "size (n)".into(),
                unit: Unit::Count,
                log: true,
            },
            y: Axis {
                title: "peak heap".into(),
                unit,
                log: true,
            },
            lines: vec![Line {
                strategy: "tape".into(),
                label: "tape".into(),
                points,
            }],
            reference: None,
            bounds: Vec::new(),
        }
    }

    /// The quick suite's heap panel of `lse` had `9.77 KiB` over `peak heap`: its y labels
    /// (1 B to 977 KiB) are the widest of any unit. Every unit, at both scales, keeps its
    /// tick labels off both axis titles.
    #[test]
    fn no_tick_label_overlaps_an_axis_title_in_a_line_panel() {
        let cases = [
            (Unit::Bytes, vec![1.0, 2e4, 1.2e6]),
            (Unit::Bytes, vec![3.0, 5e9]),
            (Unit::Nanoseconds, vec![12.0, 4e3, 4.5e8]),
            (Unit::Count, vec![3.0, 7e5, 2e12]),
            (Unit::Ratio, vec![0.02, 3.0, 2e7]),
        ];
        for (unit, values) in cases {
            for scale in [1.0, 2.0] {
                let p = panel(unit, &values);
                let style = Style { scale };
                let size = (style.upx(480.0), style.upx(330.0));
                let svg = svg_of(size, |root| p.draw(root, style).unwrap());
                assert_no_label_on_a_title(
                    &svg,
                    &["peak heap", "size (n)"],
                    &format!("{unit:?} {values:?} at scale {scale}"),
                );
            }
        }
    }

    #[test]
    fn no_tick_label_overlaps_the_axis_title_in_a_bar_chart() {
        let chart = BarChart {
            title: "overhead".into(),
            axis: Axis {
                title: "overhead".into(),
                unit: Unit::Ratio,
                log: true,
            },
            groups: vec![BarGroup {
                label: "deep-chain k=100000".into(),
                bars: vec![Bar {
                    strategy: "naive".into(),
                    value: 3e8,
                    stacked: None,
                }],
            }],
            legend: vec!["naive".into()],
            legend_notes: Vec::new(),
            reference: Some(1.0),
        };
        let svg = svg_of((480, chart.height()), |root| {
            chart.draw(root, Style { scale: 1.0 }).unwrap()
        });
        // The chart's title is "overhead" too: only the axis title is below the plot.
        let boxes = text_boxes(&svg);
        let axis_title = boxes
            .iter()
            .filter(|b| b.text == "overhead")
            .max_by(|a, b| a.top.total_cmp(&b.top))
            .unwrap();
        for label in boxes.iter().filter(|b| b.text.ends_with('×')) {
            assert!(!label.intersects(axis_title), "{label:?} on {axis_title:?}");
        }
        // The group label ends left of the bars' axis.
        let group = boxes
            .iter()
            .find(|b| b.text.starts_with("deep-chain"))
            .unwrap();
        let first_tick = boxes
            .iter()
            .filter(|b| b.text.ends_with('×'))
            .map(|b| (b.left + b.right) / 2.0)
            .fold(f64::INFINITY, f64::min);
        assert!(
            group.right <= first_tick + 1.0,
            "{group:?} beyond {first_tick}"
        );
    }

    #[test]
    fn the_label_area_grows_with_its_widest_label() {
        let style = Style { scale: 1.0 };
        let narrow = label_area(Side::Left, &["1 B".into()], "peak heap", style);
        let wide = label_area(Side::Left, &["9.77 KiB".into()], "peak heap", style);
        assert!(wide > narrow + 15, "{narrow} vs {wide}");
        let no_title = label_area(Side::Left, &["9.77 KiB".into()], "", style);
        assert!(no_title + 10 < wide);
        let doubled = label_area(
            Side::Left,
            &["9.77 KiB".into()],
            "peak heap",
            Style { scale: 2.0 },
        );
        assert!(doubled.abs_diff(2 * wide) <= 4, "{wide} vs {doubled}");
    }
}
