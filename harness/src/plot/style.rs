//! How figures look: one colour, marker and line style per strategy (the same in every
//! figure), the bundled font, sizes that scale with the output's resolution, and tick labels
//! with units.
//!
//! **Palette.** dualbench's own strategies take the eight colours of Okabe & Ito's
//! colour-blind-safe palette (with grey for `primal` and a dark yellow in place of their
//! yellow, which is too pale on white; the task-parallel `dualrev-par` and `tape-par` take a dark
//! wine and a slate) and a marker shape each; `manual`, the floor
//! (not AD), is dark brown with a flat bar for a marker and a dashed line, and in the overhead
//! figure a dashed line across its workload's bars; the peers take Paul
//! Tol's "muted" scheme, hollow markers and dashed lines, so they never read as one of ours,
//! and differ from each other in colour and shape. So no figure depends on colour alone. A
//! name this table does not know (a strategy of another dualbench version) gets a fixed grey
//! fallback style.
//!
//! **Text.** Text is set in DejaVu Sans, which the `dejavu` crate carries and which is
//! registered with plotters' pure-Rust (ab_glyph) renderer: nothing is looked up on the
//! machine, so a fresh machine draws the same pixels. SVG files name the family
//! `DejaVu Sans, sans-serif`, so a viewer without DejaVu substitutes a sans-serif font.
//!
//! **Sizes.** Every length is given for the SVG (1 px = 1 unit, panels sized for a
//! single-column figure of a two-column paper at about 7 pt text) and multiplied by the
//! [`Style::scale`] of the output: PNG files are drawn at twice the size.

use std::sync::Once;

use plotters::style::{FontStyle, RGBColor, TextStyle};

/// The font family name figures use (registered under this name).
pub const FONT_FAMILY: &str = "DejaVu Sans, sans-serif";

/// Register the bundled font with plotters, once per process.
pub fn register_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        if plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, dejavu::sans::regular())
            .is_err()
        {
            unreachable!("the bundled DejaVu Sans is a valid font");
        }
        if plotters::style::register_font(FONT_FAMILY, FontStyle::Bold, dejavu::sans::bold())
            .is_err()
        {
            unreachable!("the bundled DejaVu Sans Bold is a valid font");
        }
    });
}

/// The shape drawn at each point of a strategy's series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    /// A circle.
    Circle,
    /// A square.
    Square,
    /// A triangle pointing up.
    Triangle,
    /// A triangle pointing down.
    TriangleDown,
    /// A diamond.
    Diamond,
    /// A pentagon, point up.
    Pentagon,
    /// A hexagon.
    Hexagon,
    /// A plus sign (drawn as strokes).
    Plus,
    /// A diagonal cross (drawn as strokes).
    Cross,
    /// A five-pointed star.
    Star,
    /// Two triangles meeting at their tips, side by side.
    Bowtie,
    /// A flat horizontal bar: the floor (`manual`).
    Bar,
}

/// How one strategy is drawn in every figure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StrategyStyle {
    /// Its colour.
    pub colour: RGBColor,
    /// Its marker.
    pub marker: Marker,
    /// Hollow markers and a dashed line (the peers).
    pub hollow: bool,
    /// The floor (`manual`, not AD): filled markers on a dashed line, and in the overhead
    /// figure a dashed line across its workload's bars at its value, the line no AD strategy
    /// goes below.
    pub floor: bool,
}

impl StrategyStyle {
    /// Whether its lines are dashed (a peer's, or the floor's).
    pub fn dashed(self) -> bool {
        self.hollow || self.floor
    }
}

const fn own(r: u8, g: u8, b: u8, marker: Marker) -> StrategyStyle {
    StrategyStyle {
        colour: RGBColor(r, g, b),
        marker,
        hollow: false,
        floor: false,
    }
}

const fn peer(r: u8, g: u8, b: u8, marker: Marker) -> StrategyStyle {
    StrategyStyle {
        colour: RGBColor(r, g, b),
        marker,
        hollow: true,
        floor: false,
    }
}

const fn floor(r: u8, g: u8, b: u8) -> StrategyStyle {
    StrategyStyle {
        colour: RGBColor(r, g, b),
        marker: Marker::Bar,
        hollow: false,
        floor: true,
    }
}

/// Every strategy dualbench knows, in the order figures list them, with its style.
const STYLES: &[(&str, StrategyStyle)] = &[
    ("primal", own(0x80, 0x80, 0x80, Marker::Plus)),
    ("forward", own(0x56, 0xB4, 0xE9, Marker::Circle)),
    ("forward-vec", own(0x00, 0x72, 0xB2, Marker::Square)),
    ("tape", own(0x00, 0x00, 0x00, Marker::Diamond)),
    ("naive", own(0xD5, 0x5E, 0x00, Marker::Triangle)),
    ("staged", own(0xE6, 0x9F, 0x00, Marker::Cross)),
    ("cayley", own(0xA8, 0x90, 0x00, Marker::TriangleDown)),
    ("sparse", own(0x00, 0x9E, 0x73, Marker::Pentagon)),
    ("dualrev", own(0xCC, 0x79, 0xA7, Marker::Hexagon)),
    ("dualrev-par", own(0x88, 0x22, 0x55, Marker::Star)),
    ("tape-par", own(0x44, 0x55, 0x66, Marker::Bowtie)),
    ("manual", floor(0x66, 0x44, 0x22)),
    ("peer-xad", peer(0x33, 0x22, 0x88, Marker::Diamond)),
    ("peer-echidna", peer(0x88, 0xCC, 0xEE, Marker::Circle)),
    ("peer-reverse", peer(0x44, 0xAA, 0x99, Marker::Square)),
    ("peer-easy-ml", peer(0x11, 0x77, 0x33, Marker::Triangle)),
    (
        "peer-ad-trait",
        peer(0x99, 0x99, 0x33, Marker::TriangleDown),
    ),
    ("peer-num-dual", peer(0xDD, 0xCC, 0x77, Marker::Pentagon)),
    ("peer-autodiff", peer(0x88, 0x22, 0x55, Marker::Circle)),
];

/// The style of a strategy no table entry names.
const FALLBACK: StrategyStyle = peer(0x66, 0x66, 0x66, Marker::Plus);

/// The style of `strategy`: the same in every figure.
pub fn strategy_style(strategy: &str) -> StrategyStyle {
    STYLES
        .iter()
        .find(|(name, _)| *name == strategy)
        .map_or(FALLBACK, |(_, style)| *style)
}

/// The position of `strategy` in figure order (unknown names last, then by name).
pub fn strategy_rank(strategy: &str) -> usize {
    STYLES
        .iter()
        .position(|(name, _)| *name == strategy)
        .unwrap_or(STYLES.len())
}

/// Sort strategy names in figure order.
pub fn sort_strategies(names: &mut [String]) {
    names.sort_by(|a, b| strategy_rank(a).cmp(&strategy_rank(b)).then(a.cmp(b)));
}

/// The scale of one output: every length of a figure is multiplied by it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Style {
    /// 1 for SVG, 2 for PNG.
    pub scale: f64,
}

impl Style {
    /// A length in pixels of this output.
    pub fn px(self, length: f64) -> i32 {
        (length * self.scale).round() as i32
    }

    /// A length in pixels, unsigned (label areas, margins).
    pub fn upx(self, length: f64) -> u32 {
        self.px(length).max(0) as u32
    }

    /// Text of `size` (SVG px) in the bundled font.
    pub fn font(self, size: f64) -> TextStyle<'static> {
        TextStyle::from((FONT_FAMILY, size * self.scale))
    }

    /// Bold text of `size` (SVG px).
    pub fn bold(self, size: f64) -> TextStyle<'static> {
        TextStyle::from((FONT_FAMILY, size * self.scale, FontStyle::Bold))
    }
}

/// Text sizes (SVG px).
pub mod text {
    /// Panel titles.
    pub const TITLE: f64 = 15.0;
    /// Axis titles.
    pub const AXIS: f64 = 13.0;
    /// Tick labels.
    pub const TICK: f64 = 12.0;
    /// Legend entries.
    pub const LEGEND: f64 = 12.0;
}

/// What the numbers on an axis are, for tick labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Nanoseconds, labelled in s, ms, µs or ns.
    Nanoseconds,
    /// Bytes, labelled in B, KiB, MiB, GiB.
    Bytes,
    /// A plain count or size, labelled 10, 1k, 1M, ...
    Count,
    /// A ratio, labelled 1x, 10x, ...
    Ratio,
    /// A fraction, labelled as a percentage.
    Percent,
}

impl Unit {
    /// The tick label of `value`.
    pub fn label(self, value: f64) -> String {
        match self {
            Unit::Nanoseconds => {
                let (v, unit) = scaled(value, &[(1e9, "s"), (1e6, "ms"), (1e3, "µs")], "ns");
                format!("{} {unit}", short(v))
            }
            Unit::Bytes => {
                let (v, unit) = scaled(
                    value,
                    &[
                        (1_073_741_824.0, "GiB"),
                        (1_048_576.0, "MiB"),
                        (1024.0, "KiB"),
                    ],
                    "B",
                );
                format!("{} {unit}", short(v))
            }
            Unit::Count => {
                let (v, unit) = scaled(
                    value,
                    &[(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")],
                    "",
                );
                format!("{}{unit}", short(v))
            }
            Unit::Ratio => {
                let exponent = value.log10().round();
                if value >= 1000.0 && (value / 10f64.powf(exponent) - 1.0).abs() < 1e-9 {
                    format!("10{}×", superscript(exponent as i64))
                } else {
                    format!("{}×", short(value))
                }
            }
            Unit::Percent => format!("{}%", short(value * 100.0)),
        }
    }
}

fn scaled(value: f64, units: &[(f64, &'static str)], base: &'static str) -> (f64, &'static str) {
    units
        .iter()
        .find(|(factor, _)| value.abs() >= *factor)
        .map_or((value, base), |&(factor, unit)| (value / factor, unit))
}

/// `n` in Unicode superscript digits (`³`, `¹²`).
fn superscript(n: i64) -> String {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let mut out = String::new();
    if n < 0 {
        out.push('⁻');
    }
    for d in n.unsigned_abs().to_string().bytes() {
        out.push(DIGITS[(d - b'0') as usize]);
    }
    out
}

/// A number with three significant digits and no trailing zeros (integers below 10^5 in
/// full; from 10^5 on, `3.86e6`).
pub fn short(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    if v.abs() >= 1e5 {
        return format!("{v:.2e}");
    }
    let digits = (2 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    let text = format!("{v:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_carry_units_and_three_digits() {
        assert_eq!(Unit::Nanoseconds.label(1500.0), "1.5 µs");
        assert_eq!(Unit::Nanoseconds.label(2e9), "2 s");
        assert_eq!(Unit::Nanoseconds.label(12.0), "12 ns");
        assert_eq!(Unit::Bytes.label(3.0 * 1_048_576.0), "3 MiB");
        assert_eq!(Unit::Count.label(100_000.0), "100k");
        assert_eq!(Unit::Count.label(20.0), "20");
        assert_eq!(Unit::Ratio.label(0.5), "0.5×");
        assert_eq!(Unit::Ratio.label(100.0), "100×");
        assert_eq!(Unit::Ratio.label(1e6), "10⁶×");
        assert_eq!(Unit::Percent.label(0.25), "25%");
        assert_eq!(short(0.001234), "0.00123");
        assert_eq!(short(12345.0), "12345");
        assert_eq!(short(3_856_748.0), "3.86e6");
    }

    #[test]
    fn every_strategy_has_its_own_colour_and_ours_their_own_markers() {
        let mut seen = std::collections::BTreeSet::new();
        let mut own_markers = std::collections::BTreeSet::new();
        let mut peer_pairs = std::collections::BTreeSet::new();
        for (name, style) in STYLES {
            let key = (style.colour.0, style.colour.1, style.colour.2, style.hollow);
            assert!(seen.insert(key), "{name} shares a colour");
            if style.hollow {
                assert!(
                    peer_pairs.insert(format!("{:?}{:?}", style.marker, style.colour)),
                    "{name}"
                );
            } else {
                assert!(
                    own_markers.insert(format!("{:?}", style.marker)),
                    "{name} shares a marker with another of dualbench's strategies"
                );
            }
        }
        for kind in strategies::StrategyKind::ALL {
            assert!(
                strategy_rank(kind.name()) < STYLES.len(),
                "{} has no style",
                kind.name()
            );
        }
        for peer in strategies::peers::CATALOGUE {
            assert!(strategy_rank(peer.name) < STYLES.len(), "{}", peer.name);
        }
    }
}
