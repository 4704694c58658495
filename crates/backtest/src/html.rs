//! One self-contained HTML file per report: inline SVG charts drawn in Rust with
//! `plotters`' SVG backend (no scripts, no external assets, opens anywhere offline).
//!
//! Bars are drawn as rectangles rather than with `plotters::series::Histogram`, which
//! emits its bars in `HashMap` order and would make the file differ between runs.
//!
//! Charts: equity curve, drawdown, histogram of trade net PnL, net PnL per regime and per
//! symbol; tables of the summary, per symbol, per regime and the assumptions behind the
//! costs. The comparison page has the variants' table and their equity curves overlaid.

use crate::compare::Comparison;
use crate::error::{BacktestError, Result};
use crate::metrics::TradeStats;
use crate::report::Report;
use crate::sim::CurvePoint;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use std::fmt::Write as _;

const W: u32 = 960;
const H: u32 = 320;

fn err(e: impl std::fmt::Display) -> BacktestError {
    BacktestError::Report(format!("drawing: {e}"))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn date_label(ms: f64) -> String {
    let ms = ms.max(0.0) as u64;
    let full = crate::util::iso_utc(ms);
    // "2025-05-04T15:00" → "05-04 15h"
    format!("{} {}h", &full[5..10], &full[11..13])
}

fn span(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    if (hi - lo).abs() < 1e-9 {
        let pad = lo.abs().max(1.0) * 0.01;
        (lo - pad, hi + pad)
    } else {
        let pad = (hi - lo) * 0.05;
        (lo - pad, hi + pad)
    }
}

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Lines over time: `(label, points (ms, value))`.
fn time_lines(title: &str, y_desc: &str, series: &[(&str, Vec<(f64, f64)>)]) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let all = series.iter().flat_map(|s| s.1.iter());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in all {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if x0 > x1 {
            (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
        }
        let (x0, x1) = if x1 > x0 { (x0, x1) } else { (x0, x0 + 1.0) };
        let (y0, y1) = span(y0, y1);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(&|x| date_label(*x))
            .y_desc(y_desc)
            .draw()
            .map_err(err)?;
        for (i, (label, pts)) in series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let s = chart
                .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
                .map_err(err)?;
            if series.len() > 1 {
                s.label(*label).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
            }
        }
        if series.len() > 1 {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Histogram of values in `bins` equal bins.
fn histogram(title: &str, values: &[f64], bins: usize) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (lo, hi) = values
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
        let (lo, hi) = if values.is_empty() {
            (-1.0, 1.0)
        } else {
            span(lo, hi)
        };
        let width = (hi - lo) / bins as f64;
        let mut counts = vec![0u32; bins];
        for v in values {
            let k = (((v - lo) / width) as usize).min(bins - 1);
            counts[k] += 1;
        }
        let top = counts.iter().copied().max().unwrap_or(1).max(1);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(lo..hi, 0u32..top + top / 10 + 1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("net PnL per trade (USDT)")
            .y_desc("trades")
            .draw()
            .map_err(err)?;
        chart
            .draw_series(counts.iter().enumerate().map(|(k, c)| {
                let a = lo + k as f64 * width;
                let color = if a + width / 2.0 > 0.0 {
                    PALETTE[2]
                } else {
                    PALETTE[3]
                };
                Rectangle::new([(a, 0), (a + width, *c)], color.mix(0.8).filled())
            }))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// One bar per key: net PnL, green above zero, red below.
fn bars(title: &str, rows: &[(String, f64)]) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let n = rows.len().max(1) as u32;
        let (lo, hi) = rows
            .iter()
            .fold((0.0f64, 0.0f64), |(a, b), r| (a.min(r.1), b.max(r.1)));
        let (lo, hi) = span(lo, hi);
        // "BTCUSDT" → "BTC" when every name has the suffix: 18 symbols fit the axis.
        let all_usdt = rows.iter().all(|r| r.0.ends_with("USDT") && r.0.len() > 4);
        let names: Vec<String> = rows
            .iter()
            .map(|r| {
                if all_usdt {
                    r.0.trim_end_matches("USDT").to_string()
                } else {
                    r.0.clone()
                }
            })
            .collect();
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(70)
            // plotters' integer ranges include their end: 0..n-1 is n segments.
            .build_cartesian_2d((0u32..n - 1).into_segmented(), lo..hi)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(rows.len().max(1))
            .x_label_style(("sans-serif", 11))
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                    names.get(*i as usize).cloned().unwrap_or_default()
                }
                SegmentValue::Last => String::new(),
            })
            .y_desc("net PnL (USDT)")
            .draw()
            .map_err(err)?;
        let last = rows.len().saturating_sub(1) as u32;
        let rect = |i: usize, v: f64| {
            let i = i as u32;
            let right = if i >= last {
                SegmentValue::Last
            } else {
                SegmentValue::Exact(i + 1)
            };
            [(SegmentValue::Exact(i), 0.0), (right, v)]
        };
        chart
            .draw_series(rows.iter().enumerate().map(|(i, (_, v))| {
                let color = if *v >= 0.0 { PALETTE[2] } else { PALETTE[3] };
                Rectangle::new(rect(i, *v), color.mix(0.8).filled())
            }))
            .map_err(err)?;
        // White outlines separate adjacent bars.
        chart
            .draw_series(
                rows.iter()
                    .enumerate()
                    .map(|(i, (_, v))| Rectangle::new(rect(i, *v), WHITE.stroke_width(3))),
            )
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

fn curve_points(c: &[CurvePoint], f: impl Fn(&CurvePoint) -> f64) -> Vec<(f64, f64)> {
    c.iter().map(|p| (p.ts_ms as f64, f(p))).collect()
}

fn fmt_opt(v: Option<f64>) -> String {
    crate::report::opt(v, 2)
}

fn stats_rows(o: &mut String, title: &str, rows: &[(String, &TradeStats, Option<u64>)]) {
    let _ = write!(
        o,
        "<table><tr><th>{}</th><th>trades</th><th>win %</th><th>net</th><th>gross</th><th>fees</th><th>slippage</th><th>funding</th><th>PF</th><th>avg win</th><th>avg loss</th>{}</tr>",
        esc(title),
        if rows.iter().any(|r| r.2.is_some()) { "<th>ticks</th>" } else { "" }
    );
    for (k, s, ticks) in rows {
        let cls = if s.net_pnl >= 0.0 { "pos" } else { "neg" };
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td class=\"{cls}\">{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td>{}</tr>",
            esc(k),
            s.trades,
            s.win_rate * 100.0,
            s.net_pnl,
            s.gross_pnl,
            s.fees,
            s.slippage,
            s.funding,
            fmt_opt(s.profit_factor),
            s.avg_win,
            s.avg_loss,
            ticks.map(|t| format!("<td>{t}</td>")).unwrap_or_default()
        );
    }
    o.push_str("</table>\n");
}

const STYLE: &str = "body{font-family:sans-serif;margin:20px;color:#222}table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}.pos{color:#1a7f1a}.neg{color:#b22}.note{color:#555;font-size:90%;max-width:960px}svg{display:block;margin:6px 0}";

/// The HTML page of one report.
pub fn report_html(r: &Report) -> Result<String> {
    let s = &r.summary;
    let st = &s.stats;
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>shmtrader backtest</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        o,
        "<h1>Backtest {} → {}</h1><p>{} days, {} symbols, {} trade prints, {} book tops.</p>",
        esc(&s.start),
        esc(&s.end),
        s.days,
        r.per_symbol.len(),
        s.ticks,
        s.book_updates
    );
    let cls = if st.net_pnl >= 0.0 { "pos" } else { "neg" };
    let _ = write!(
        o,
        "<table><tr><th>figure</th><th>value</th></tr>\
<tr><td>net PnL (USDT)</td><td class=\"{cls}\">{:.2} ({:+.2} %)</td></tr>\
<tr><td>gross PnL, before costs</td><td>{:.2}</td></tr>\
<tr><td>fees</td><td>{:.2}</td></tr><tr><td>slippage (spread + impact)</td><td>{:.2}</td></tr>\
<tr><td>funding (negative: paid)</td><td>{:.2}</td></tr>\
<tr><td>trades / win rate</td><td>{} / {:.1} %</td></tr>\
<tr><td>profit factor</td><td>{}</td></tr><tr><td>avg win / avg loss</td><td>{:.2} / {:.2}</td></tr>\
<tr><td>max drawdown</td><td>{:.2} % ({:.2} USDT)</td></tr>\
<tr><td>Sharpe / Sortino (daily, ×√365)</td><td>{} / {}</td></tr>\
<tr><td>exposure (time with a position)</td><td>{:.1} %</td></tr>\
<tr><td>signals / filtered / entries</td><td>{} / {} / {}</td></tr></table>",
        st.net_pnl,
        s.return_pct,
        st.gross_pnl,
        st.fees,
        st.slippage,
        st.funding,
        st.trades,
        st.win_rate * 100.0,
        fmt_opt(st.profit_factor),
        st.avg_win,
        st.avg_loss,
        s.max_drawdown * 100.0,
        s.max_drawdown_usd,
        fmt_opt(s.sharpe),
        fmt_opt(s.sortino),
        s.exposure * 100.0,
        s.signals,
        s.filtered,
        s.entries
    );
    o.push_str(&time_lines(
        "Equity (mark to market)",
        "USDT",
        &[("equity", curve_points(&r.curve, |p| p.equity))],
    )?);
    o.push_str(&time_lines(
        "Drawdown from peak",
        "%",
        &[("drawdown", curve_points(&r.curve, |p| -p.drawdown * 100.0))],
    )?);
    let pnl: Vec<f64> = r.trades.iter().map(|t| t.net_pnl).collect();
    o.push_str(&histogram("Trade net PnL", &pnl, 40)?);
    let regime_rows: Vec<(String, f64)> = r
        .per_regime
        .iter()
        .map(|(k, v)| (k.clone(), v.net_pnl))
        .collect();
    o.push_str("<h2>Per regime (label of the signal that opened the trade)</h2>");
    o.push_str(&bars("Net PnL per regime", &regime_rows)?);
    let rows: Vec<(String, &TradeStats, Option<u64>)> = r
        .per_regime
        .iter()
        .map(|(k, v)| (k.clone(), v, None))
        .collect();
    stats_rows(&mut o, "regime", &rows);
    o.push_str("<h2>Per symbol</h2>");
    let sym_rows: Vec<(String, f64)> = r
        .per_symbol
        .iter()
        .map(|(k, v)| (k.clone(), v.stats.net_pnl))
        .collect();
    o.push_str(&bars("Net PnL per symbol", &sym_rows)?);
    let rows: Vec<(String, &TradeStats, Option<u64>)> = r
        .per_symbol
        .iter()
        .map(|(k, v)| (k.clone(), &v.stats, Some(v.ticks)))
        .collect();
    stats_rows(&mut o, "symbol", &rows);
    let a = &r.assumptions;
    let _ = write!(
        o,
        "<h2>Assumptions</h2><p class=\"note\">Taker fee {:.4} %; half-spread {:.2} bp when no book is known; impact {:.2} bp × {} of notional / {:.0} USDT; latency {:.1} ms. {}. Funding {:.4} % per 8 h at 00/08/16 UTC, longs pay when positive. Klines are replayed as four prints (open, extremes ordered {}, close); see the crate docs for the biases this introduces. Adaptive threshold: {}; filter: {}. Every figure is net of fees, slippage and funding unless labelled gross.</p>",
        a.taker_fee * 100.0,
        a.default_half_spread_bps,
        a.impact_coeff_bps,
        a.impact_model,
        a.impact_typical_notional_usd,
        a.latency_ms,
        esc(a.fill_rule),
        a.funding_rate_8h * 100.0,
        a.intrabar_path,
        a.adaptive,
        esc(&a.filter)
    );
    o.push_str("</body></html>\n");
    Ok(o)
}

/// The HTML page of a comparison.
pub fn compare_html(c: &Comparison) -> Result<String> {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>shmtrader backtest comparison</title><style>{STYLE}</style></head><body><h1>Variants on identical data</h1>"
    );
    o.push_str("<table><tr><th>variant</th><th>trades</th><th>win %</th><th>net</th><th>fees</th><th>slippage</th><th>funding</th><th>PF</th><th>max DD %</th><th>Sharpe</th><th>pass rate</th><th>net − rules, 95 % CI</th><th>note</th></tr>");
    for v in &c.variants {
        match &v.summary {
            None => {
                let _ = write!(
                    o,
                    "<tr><td>{}</td><td colspan=\"12\">{}</td></tr>",
                    esc(&v.name),
                    esc(v.note.as_deref().unwrap_or(""))
                );
            }
            Some(s) => {
                let st = &s.stats;
                let cls = if st.net_pnl >= 0.0 { "pos" } else { "neg" };
                let _ = write!(
                    o,
                    "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td class=\"{cls}\">{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&v.name),
                    st.trades,
                    st.win_rate * 100.0,
                    st.net_pnl,
                    st.fees,
                    st.slippage,
                    st.funding,
                    fmt_opt(st.profit_factor),
                    s.max_drawdown * 100.0,
                    fmt_opt(s.sharpe),
                    v.pass_rate.map_or_else(|| "-".into(), |x| format!("{x:.2}")),
                    v.pnl_diff_ci
                        .map_or_else(|| "-".into(), |[a, b]| format!("[{a:.2}, {b:.2}]")),
                    esc(v.note.as_deref().unwrap_or(""))
                );
            }
        }
    }
    o.push_str("</table>");
    let ml = c.ml_text();
    if !ml.is_empty() {
        let _ = write!(
            o,
            "<h2>ML filter, out of sample</h2><pre>{}</pre>",
            esc(&ml)
        );
    }
    let series: Vec<(&str, Vec<(f64, f64)>)> = c
        .variants
        .iter()
        .filter_map(|v| {
            v.report
                .as_ref()
                .map(|r| (v.name.as_str(), curve_points(&r.curve, |p| p.equity)))
        })
        .collect();
    o.push_str(&time_lines("Equity per variant", "USDT", &series)?);
    let _ = writeln!(
        o,
        "<p class=\"note\">Intervals: moving-block bootstrap of the daily net-PnL difference to <code>rules</code> over {} UTC days, block {} days, {} resamples, seed {}. An interval containing 0 means the data cannot tell the variant from the baseline. Descriptions: {}</p></body></html>",
        c.bootstrap.days,
        c.bootstrap.block_days,
        c.bootstrap.resamples,
        c.bootstrap.seed,
        c.variants
            .iter()
            .map(|v| format!("<b>{}</b>: {}", esc(&v.name), esc(&v.description)))
            .collect::<Vec<_>>()
            .join("; ")
    );
    Ok(o)
}
