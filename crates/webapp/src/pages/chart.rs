//! Inline SVG charts (no JavaScript, no inline styles: CSP-safe; colours
//! come from the `s0`..`s5` classes in app.css).

use std::fmt::Write;

/// One line of a chart.
pub struct Series {
    pub label: String,
    pub values: Vec<u64>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const W: f64 = 760.0;
const H: f64 = 240.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 10.0;
const RIGHT: f64 = 40.0;

/// A line chart of `series` over the x labels `xs` (e.g. days), with a legend.
pub fn line_chart(xs: &[String], series: &[Series]) -> String {
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - BOTTOM - TOP;
    let n = xs.len().max(2) - 1;
    let x_of = |i: usize| LEFT + plot_w * (i as f64) / (n as f64);
    let y_of = |v: u64| TOP + plot_h - plot_h * (v as f64) / (max as f64);
    let mut out = String::new();
    let _ = write!(
        out,
        "<div class=\"chart\"><svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"crashes per day\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\"/><line class=\"axis\" x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{b}\"/>",
        b = TOP + plot_h,
        r = W - RIGHT
    );
    for frac in [0.0, 0.5, 1.0] {
        let v = ((max as f64) * frac).round() as u64;
        let _ = write!(
            out,
            "<text x=\"{x}\" y=\"{y}\" text-anchor=\"end\">{v}</text>",
            x = LEFT - 4.0,
            y = y_of(v) + 4.0
        );
    }
    let step = (xs.len() / 7).max(1);
    for (i, label) in xs.iter().enumerate().step_by(step) {
        let _ = write!(
            out,
            "<text x=\"{x}\" y=\"{y}\" text-anchor=\"middle\">{l}</text>",
            x = x_of(i),
            y = H - 8.0,
            l = esc(label)
        );
    }
    for (k, s) in series.iter().enumerate() {
        let points: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x_of(i), y_of(*v)))
            .collect();
        let _ = write!(
            out,
            "<polyline class=\"line s{c}\" points=\"{p}\"><title>{l}</title></polyline>",
            c = k % 6,
            p = points.join(" "),
            l = esc(&s.label)
        );
    }
    out.push_str("</svg><p class=\"legend\">");
    for (k, s) in series.iter().enumerate() {
        let _ = write!(
            out,
            "<span><i class=\"swatch s{}\"></i>{}</span>",
            k % 6,
            esc(&s.label)
        );
    }
    out.push_str("</p></div>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_labels_and_has_no_inline_style() {
        let svg = line_chart(
            &["d1".into(), "d2".into()],
            &[Series {
                label: "<script>".into(),
                values: vec![1, 5],
            }],
        );
        assert!(svg.contains("&lt;script&gt;"));
        assert!(!svg.contains("style="));
        assert!(svg.contains("<polyline"));
    }
}
