use super::*;
use crate::synth::random_walk_ticks;
use shmtrader_strategy::Features;

fn sim_for(m: &Market) -> Sim<'_> {
    let cfg = shmtrader_core::Config::embedded_default().unwrap();
    let s = crate::settings(
        &cfg,
        m,
        &crate::BacktestOptions::default(),
        false,
        SignalFilter::None,
        "t",
    )
    .unwrap();
    Sim::new(m, &s).unwrap()
}

/// An exit that would open or add to a position is rejected, one larger than the
/// position is trimmed to it — as the exchange treats reduce-only orders.
#[test]
fn reduce_only_is_enforced() {
    let m = random_walk_ticks(1, 1, 1, 0, 0.001, 1);
    let mut s = sim_for(&m);
    let t0 = 1_000_000_000u64;
    s.syms[0].last_px = 100.0;
    let _ = s.risk.on_tick(0, 100.0, t0);
    let buy = |entry| LiveOrder {
        symbol: 0,
        side: Side::Buy,
        entry,
        regime: 3,
    };
    s.submit(buy(true), 0.5, t0).unwrap();
    s.resolve_fills(0, 100.0, t0 + 10_000_000).unwrap();
    assert_eq!(s.risk.position(0).unwrap().size(), 0.5);
    // A "reduce-only" buy on a long: rejected, position unchanged.
    s.submit(buy(false), 0.5, t0).unwrap();
    s.resolve_fills(0, 101.0, t0 + 20_000_000).unwrap();
    assert_eq!(s.r.reduce_only_rejected, 1);
    assert_eq!(s.risk.position(0).unwrap().size(), 0.5);
    // A reduce-only sell of twice the size: trimmed, the position closes flat.
    let sell = LiveOrder {
        side: Side::Sell,
        ..buy(false)
    };
    s.submit(sell, 1.0, t0).unwrap();
    s.resolve_fills(0, 102.0, t0 + 30_000_000).unwrap();
    assert!(s.risk.position(0).unwrap().is_flat());
    assert_eq!(s.r.trades.len(), 1);
    let t = &s.r.trades[0];
    assert_eq!((t.qty, t.side, t.regime), (0.5, "long", "ranging_low_vol"));
    assert!((t.gross_pnl - 1.0).abs() < 1e-9, "{t:?}");
    assert!((t.net_pnl - (t.gross_pnl - t.fees - t.slippage)).abs() < 1e-9);
}

#[test]
fn regime_filter_definition() {
    use Regime::*;
    assert!(regime_agrees(SignalKind::Trend, TrendingLowVol));
    assert!(regime_agrees(SignalKind::Trend, TrendingHighVol));
    assert!(!regime_agrees(SignalKind::Trend, RangingLowVol));
    assert!(regime_agrees(SignalKind::Reversion, RangingHighVol));
    assert!(!regime_agrees(SignalKind::Reversion, TrendingLowVol));
    assert!(!regime_agrees(SignalKind::Trend, Unknown));
    assert!(!regime_agrees(SignalKind::Reversion, Unknown));
    // EMA and MACD up, RSI and %B neutral: a trend long.
    let mut f = Features::default();
    f.ind.price = 100.0;
    f.ind.ema_fast = Some(100.2);
    f.ind.ema_slow = Some(100.0);
    f.ind.rsi = Some(50.0);
    let p = SignalParams::default();
    assert_eq!(signal_kind(&p, &f, Side::Buy), SignalKind::Trend);
    // Oversold RSI against a falling EMA: the long is a reversion bet.
    f.ind.ema_fast = Some(99.9);
    f.ind.rsi = Some(20.0);
    assert_eq!(signal_kind(&p, &f, Side::Buy), SignalKind::Reversion);
}
