//! Plot output: labelled SVG line charts through plotters ([`labelled_lines`]: axes, ticks,
//! axis labels with units, a title and a legend), plus the older minimal PNG image grids and
//! unlabelled PNG line plots of the demo (no fonts; its report names the colours and axes).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

/// Writes an 8-bit grayscale or RGB PNG.
fn write_png(
    path: &Path,
    w: usize,
    h: usize,
    color: png::ColorType,
    data: &[u8],
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("writing {}: {e}", path.display());
    let file = File::create(path).map_err(|e| err(&e))?;
    let mut enc = png::Encoder::new(BufWriter::new(file), w as u32, h as u32);
    enc.set_color(color);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|e| err(&e))?;
    writer.write_image_data(data).map_err(|e| err(&e))
}

/// Tiles square images (values in [-1, 1], `side × side` each, row-major) into a grayscale
/// grid with `cols` columns, each pixel drawn as a `scale × scale` block, 2-pixel gaps.
pub fn image_grid(
    path: &Path,
    images: &[Vec<f32>],
    side: usize,
    cols: usize,
    scale: usize,
) -> Result<(), String> {
    let rows = images.len().div_ceil(cols).max(1);
    let cell = side * scale + 2;
    let (w, h) = (cols * cell + 2, rows * cell + 2);
    let mut buf = vec![40u8; w * h];
    for (k, img) in images.iter().enumerate() {
        let (r, c) = (k / cols, k % cols);
        for y in 0..side * scale {
            for x in 0..side * scale {
                let v = img[(y / scale) * side + x / scale].clamp(-1.0, 1.0);
                let px = ((v + 1.0) * 127.5).round() as u8;
                buf[(r * cell + 2 + y) * w + c * cell + 2 + x] = px;
            }
        }
    }
    write_png(path, w, h, png::ColorType::Grayscale, &buf)
}

/// One line of a plot.
pub struct Series<'a> {
    /// y values at x = 0, 1, 2, …
    pub values: &'a [f64],
    /// RGB colour.
    pub color: [u8; 3],
}

/// Draws line series on a white canvas with a frame and 4 horizontal grid lines; y is
/// log-scaled when `log_y` (non-positive values are clamped to the smallest positive one).
/// Series are x-normalised to the full width, so runs of different lengths share the canvas.
pub fn line_plot(path: &Path, series: &[Series<'_>], log_y: bool) -> Result<(), String> {
    let (w, h, m) = (640usize, 400usize, 20usize);
    let mut buf = vec![255u8; w * h * 3];
    let tf = |v: f64| if log_y { v.max(1e-12).ln() } else { v };
    let all: Vec<f64> = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .filter(|v| v.is_finite())
        .map(tf)
        .collect();
    let (lo, hi) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    let mut put = |x: i64, y: i64, c: [u8; 3]| {
        if x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h {
            let i = (y as usize * w + x as usize) * 3;
            buf[i..i + 3].copy_from_slice(&c);
        }
    };
    for k in 0..=4 {
        let y = m + k * (h - 2 * m) / 4;
        for x in m..w - m {
            put(x as i64, y as i64, [225, 225, 225]);
        }
    }
    for x in m..w - m {
        put(x as i64, m as i64, [0, 0, 0]);
        put(x as i64, (h - m) as i64, [0, 0, 0]);
    }
    for y in m..=h - m {
        put(m as i64, y as i64, [0, 0, 0]);
        put((w - m) as i64, y as i64, [0, 0, 0]);
    }
    for s in series {
        let n = s.values.len();
        let pt = |i: usize| {
            let x = m as f64 + (w - 2 * m) as f64 * i as f64 / (n.max(2) - 1) as f64;
            let v = tf(s.values[i]);
            let y = (h - m) as f64 - (h - 2 * m) as f64 * (v - lo) / (hi - lo);
            (x.round() as i64, y.round() as i64)
        };
        for i in 1..n {
            if !(s.values[i - 1].is_finite() && s.values[i].is_finite()) {
                continue;
            }
            let ((x0, y0), (x1, y1)) = (pt(i - 1), pt(i));
            // Bresenham, 2 px thick.
            let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
            let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
            let (mut x, mut y, mut err) = (x0, y0, dx + dy);
            loop {
                put(x, y, s.color);
                put(x, y + 1, s.color);
                if x == x1 && y == y1 {
                    break;
                }
                let e2 = 2 * err;
                if e2 >= dy {
                    err += dy;
                    x += sx;
                }
                if e2 <= dx {
                    err += dx;
                    y += sy;
                }
            }
        }
    }
    write_png(path, w, h, png::ColorType::Rgb, &buf)
}

/// Moving average with window `k` (shorter at the start), for noisy per-step losses.
pub fn smooth(values: &[f64], k: usize) -> Vec<f64> {
    let k = k.max(1);
    let mut out = Vec::with_capacity(values.len());
    let mut acc = 0.0;
    for i in 0..values.len() {
        acc += values[i];
        if i >= k {
            acc -= values[i - k];
        }
        out.push(acc / (i + 1).min(k) as f64);
    }
    out
}

/// One named series of `(x, y)` points for [`labelled_lines`].
pub struct Line<'a> {
    /// Legend entry.
    pub name: &'a str,
    /// The points, in drawing order.
    pub points: &'a [(f64, f64)],
    /// RGB colour.
    pub color: [u8; 3],
}

/// Axis labels (with units) and the title of a [`labelled_lines`] chart.
pub struct Labels<'a> {
    /// Chart title.
    pub title: &'a str,
    /// x-axis label, with its unit.
    pub x: &'a str,
    /// y-axis label, with its unit.
    pub y: &'a str,
}

/// Writes an SVG line chart with a title, labelled and ticked axes, a mesh and a legend.
/// Axis ranges span every finite point (padded by 5 %).
pub fn labelled_lines(path: &Path, labels: &Labels<'_>, lines: &[Line<'_>]) -> Result<(), String> {
    use plotters::prelude::*;
    let pts = || {
        lines
            .iter()
            .flat_map(|l| l.points.iter())
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    };
    let range = |f: fn(&(f64, f64)) -> f64| {
        let (lo, hi) = pts()
            .map(f)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
        if lo.is_finite() && hi > lo {
            let pad = 0.05 * (hi - lo);
            (lo - pad, hi + pad)
        } else if lo.is_finite() {
            (lo - 1.0, lo + 1.0)
        } else {
            (0.0, 1.0)
        }
    };
    let ((x0, x1), (y0, y1)) = (range(|p| p.0), range(|p| p.1));
    let err = |e: &dyn std::fmt::Display| format!("plot {}: {e}", path.display());
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(labels.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc(labels.x)
        .y_desc(labels.y)
        .draw()
        .map_err(|e| err(&e))?;
    for l in lines {
        let c = RGBColor(l.color[0], l.color[1], l.color[2]);
        chart
            .draw_series(LineSeries::new(l.points.iter().copied(), c.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(l.name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smooth_is_a_trailing_mean() {
        assert_eq!(smooth(&[1.0, 3.0, 5.0, 7.0], 2), vec![1.0, 2.0, 4.0, 6.0]);
    }

    #[test]
    fn plots_and_grids_are_valid_pngs() {
        let dir = std::env::temp_dir().join(format!("xtask-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("p.png");
        line_plot(
            &p,
            &[Series {
                values: &[3.0, 2.0, 1.5, 1.0],
                color: [200, 0, 0],
            }],
            true,
        )
        .unwrap();
        let g = dir.join("g.png");
        image_grid(&g, &[vec![0.0; 64], vec![1.0; 64], vec![-1.0; 64]], 8, 2, 3).unwrap();
        for (f, w, h) in [(&p, 640, 400), (&g, 2 * 26 + 2, 2 * 26 + 2)] {
            let dec = png::Decoder::new(std::io::BufReader::new(File::open(f).unwrap()));
            let info = dec.read_info().unwrap().info().clone();
            assert_eq!((info.width as usize, info.height as usize), (w, h));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn labelled_svg_has_title_axes_and_legend() {
        let dir = std::env::temp_dir().join(format!("preferent-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("lines.svg");
        let pts = [(0.0, 1.0), (1.0, 3.0), (2.0, 2.0)];
        labelled_lines(
            &path,
            &Labels {
                title: "A title",
                x: "step (count)",
                y: "value (units)",
            },
            &[Line {
                name: "series one",
                points: &pts,
                color: [200, 30, 30],
            }],
        )
        .unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        for text in [
            "A title",
            "step (count)",
            "value (units)",
            "series one",
            "<polyline",
        ] {
            assert!(svg.contains(text), "missing {text}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
