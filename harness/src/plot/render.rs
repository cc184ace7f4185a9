//! Drawing a figure to SVG and PNG files.
//!
//! A [`Figure`] draws itself on any plotters backend at a [`Style`]; [`write()`] renders it
//! once per requested [`ImageFormat`] into memory and writes each file atomically
//! ([`write_atomically`]), so an interrupted `plot` never leaves a truncated image. SVG text is
//! the figure's own: no timestamp or path goes into it, so the same input gives the same bytes.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::plot::style::{register_font, Style};
use crate::results::write_atomically;

/// An image format `plot` can write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum ImageFormat {
    /// Scalable vector graphics, for papers and the HTML report.
    Svg,
    /// A bitmap at twice the SVG's pixel size, for slides and READMEs.
    Png,
}

impl ImageFormat {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Svg => "svg",
            ImageFormat::Png => "png",
        }
    }

    /// The scale of the drawing.
    pub fn style(self) -> Style {
        match self {
            ImageFormat::Svg => Style { scale: 1.0 },
            ImageFormat::Png => Style { scale: 2.0 },
        }
    }
}

/// What a drawing call returns.
pub type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A figure that can draw itself.
pub trait Figure {
    /// Its size in SVG pixels.
    fn size(&self) -> (u32, u32);

    /// Draw on `root` (already filled white) at `style`.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        style: Style,
    ) -> DrawResult<DB>;
}

/// Render `figure` as `<dir>/<stem>.<ext>` for every format; the paths written.
pub fn write(
    figure: &impl Figure,
    dir: &Path,
    stem: &str,
    formats: &[ImageFormat],
) -> Result<Vec<PathBuf>> {
    register_font();
    let mut written = Vec::new();
    for &format in formats {
        let path = dir.join(format!("{stem}.{}", format.extension()));
        let bytes = match format {
            ImageFormat::Svg => svg(figure)?,
            ImageFormat::Png => png(figure)?,
        };
        write_atomically(&path, |w| w.write_all(&bytes))?;
        written.push(path);
    }
    Ok(written)
}

fn drawing_error(e: impl std::fmt::Display) -> Error {
    Error::usage(format!("drawing a figure failed: {e}"))
}

/// The SVG text of `figure`.
pub fn svg(figure: &impl Figure) -> Result<Vec<u8>> {
    register_font();
    let style = ImageFormat::Svg.style();
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, figure.size()).into_drawing_area();
        root.fill(&WHITE).map_err(drawing_error)?;
        figure.draw(&root, style).map_err(drawing_error)?;
        root.present().map_err(drawing_error)?;
    }
    Ok(text.into_bytes())
}

/// The PNG bytes of `figure`, drawn at [`ImageFormat::Png`]'s scale.
pub fn png(figure: &impl Figure) -> Result<Vec<u8>> {
    register_font();
    let style = ImageFormat::Png.style();
    let (w, h) = figure.size();
    let (w, h) = (style.upx(w as f64), style.upx(h as f64));
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(drawing_error)?;
        figure.draw(&root, style).map_err(drawing_error)?;
        root.present().map_err(drawing_error)?;
    }
    let mut bytes = Vec::new();
    {
        let mut encoder = ::png::Encoder::new(&mut bytes, w, h);
        encoder.set_color(::png::ColorType::Rgb);
        encoder.set_depth(::png::BitDepth::Eight);
        encoder.set_compression(::png::Compression::Best);
        encoder.set_adaptive_filter(::png::AdaptiveFilterType::Adaptive);
        let mut writer = encoder.write_header().map_err(drawing_error)?;
        writer.write_image_data(&pixels).map_err(drawing_error)?;
    }
    Ok(bytes)
}
