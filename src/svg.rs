//! What every chart cgilab draws shares: a hand-written SVG document's head, its
//! colours, and text made safe for XML. The charts themselves are [`crate::bench::chart`]
//! (latencies), [`crate::bench::phase_chart`] (where a response's time went) and
//! [`crate::timeline::chart`] (a pool's workers over time).

use std::fmt::Write;

/// One colour per series, in the order series are met; a ninth series takes the first
/// colour again.
pub const COLOURS: [&str; 8] = [
    "#1b6ca8", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#2e4057", "#c46d1f",
];

/// The colour of series `i`.
pub fn colour(i: usize) -> &'static str {
    COLOURS[i % COLOURS.len()]
}

/// The XML declaration, the `<svg>` element with its size, a `<title>` (what a browser
/// shows for the file), and a white background (a chart is read on light and dark
/// pages alike).
pub fn head(width: f64, height: f64, title: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">
<title>{}</title>
<rect width="100%" height="100%" fill="white"/>"#,
        esc(title)
    );
    out
}

/// Text made safe for XML: in an element and in a quoted attribute alike. A control
/// character XML 1.0 does not allow (a log read back may hold one) becomes U+FFFD, or
/// no parser would read the file.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_elements_and_attributes() {
        assert_eq!(esc("a<&\"b>"), "a&lt;&amp;&quot;b&gt;");
        assert_eq!(esc("x\u{1}y\u{1b}[0m\tz"), "x\u{fffd}y\u{fffd}[0m\tz");
        assert!(head(10.0, 20.0, "a & b").contains("<title>a &amp; b</title>"));
    }
}
