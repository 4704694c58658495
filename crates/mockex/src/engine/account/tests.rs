#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::super::testkit::{kit, ps, Kit};
use super::super::Endpoint;

const BTC: usize = 0;
const ETH: usize = 1;

/// 0.002 BTC long near 60000, 0.100 ETH short near 3000.
fn positions() -> Kit {
    let mut k = kit(&["BTCUSDT", "ETHUSDT"]);
    k.book(BTC, 6_000_000, 50, 20);
    k.book(ETH, 300_000, 5_000, 20);
    k.trade(BTC, 6_000_000, 1, true);
    k.market("BTCUSDT", "BUY", "0.002").unwrap();
    k.market("ETHUSDT", "SELL", "0.100").unwrap();
    k.events();
    k
}

#[test]
fn funding_charges_longs_pays_shorts_with_balance_only_updates_for_cross() {
    let mut k = positions();
    let before = k.e.wallet();
    let paid = k.e.settle_funding(0.0001);
    let ev = k.events();
    assert_eq!(ev.len(), 2);
    for v in &ev {
        assert_eq!(v["e"], "ACCOUNT_UPDATE");
        assert_eq!(v["a"]["m"], "FUNDING_FEE");
        assert_eq!(v["a"]["B"][0]["a"], "USDT");
        assert!(v["a"].get("P").is_none(), "cross: balance only");
    }
    // BTC: 0.002 x 60000.05 x 0.0001 paid; ETH: 0.1 x 3000.005 x 0.0001 received.
    let btc: f64 = ev[0]["a"]["B"][0]["bc"].as_str().unwrap().parse().unwrap();
    let eth: f64 = ev[1]["a"]["B"][0]["bc"].as_str().unwrap().parse().unwrap();
    assert!((btc + 0.012_000_01).abs() < 1e-7, "{btc}");
    assert!((eth - 0.030_000_05).abs() < 1e-7, "{eth}");
    assert!((k.e.wallet() - before - btc - eth).abs() < 1e-9);
    assert_eq!(paid.as_array().unwrap().len(), 2);
    let wb: f64 = ev[1]["a"]["B"][0]["wb"].as_str().unwrap().parse().unwrap();
    assert!((wb - k.e.wallet()).abs() < 1e-8);
}

#[test]
fn funding_on_an_isolated_position_also_sends_the_position() {
    let mut k = kit(&["BTCUSDT"]);
    k.book(BTC, 6_000_000, 50, 20);
    k.e.set_margin_type(&ps(&[("symbol", "BTCUSDT"), ("marginType", "ISOLATED")]))
        .unwrap();
    k.market("BTCUSDT", "BUY", "0.002").unwrap();
    k.events();
    k.e.settle_funding(-0.0002);
    let ev = k.events();
    assert_eq!(ev[0]["a"]["P"][0]["s"], "BTCUSDT");
    assert_eq!(ev[0]["a"]["P"][0]["mt"], "isolated");
    assert!(
        ev[0]["a"]["B"][0]["bc"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
            > 0.0
    );
}

#[test]
fn liquidation_closes_at_the_mark_with_an_autoclose_order_and_leaves_stops_resting() {
    let mut k = positions();
    let mut p = ps(&[
        ("algoType", "CONDITIONAL"),
        ("symbol", "BTCUSDT"),
        ("side", "SELL"),
    ]);
    p.extend(ps(&[("type", "STOP_MARKET"), ("triggerPrice", "59000.00")]));
    p.extend(ps(&[("reduceOnly", "true"), ("quantity", "0.002")]));
    k.e.new_algo(&p).unwrap();
    k.events();
    let before = k.e.wallet();
    let o = k.e.liquidate("BTCUSDT").unwrap();
    assert_eq!(o["status"], "FILLED");
    let ev = k.events();
    assert_eq!(ev.len(), 2, "no NEW event: {ev:?}");
    let u = &ev[0]["o"];
    assert!(u["c"].as_str().unwrap().starts_with("autoclose-"));
    assert_eq!(
        (u["o"].as_str(), u["ot"].as_str()),
        (Some("LIQUIDATION"), Some("LIQUIDATION"))
    );
    assert_eq!(
        (u["x"].as_str(), u["X"].as_str()),
        (Some("TRADE"), Some("FILLED"))
    );
    assert_eq!(
        (u["S"].as_str(), u["l"].as_str()),
        (Some("SELL"), Some("0.002"))
    );
    assert_eq!(u["L"], "60000.10", "the mark 60000.05 on the tick grid");
    let fee: f64 = u["n"].as_str().unwrap().parse().unwrap();
    assert!((fee - 60_000.10 * 0.002 * 0.0125).abs() < 1e-8, "{fee}");
    assert_eq!(ev[1]["a"]["m"], "ORDER");
    assert_eq!(k.e.positions()[BTC]["positionAmt"], "0.000");
    let rp: f64 = u["rp"].as_str().unwrap().parse().unwrap();
    assert!((k.e.wallet() - (before + rp - fee)).abs() < 1e-9);
    let last = k.e.attempts().last().cloned().unwrap();
    assert_eq!(
        (last.endpoint, last.accepted()),
        (Endpoint::Liquidation, true)
    );
    // The reduce-only stop is still there and expires when it triggers.
    assert_eq!(
        k.e.open_algos(&ps(&[])).unwrap().as_array().unwrap().len(),
        1
    );
    k.book(BTC, 5_890_000, 50, 20);
    k.trade(BTC, 5_890_000, 1, true);
    assert_eq!(k.trace(), ["ALGO:TRIGGERING", "ALGO:EXPIRED"]);
    // Nothing left to liquidate; unknown symbols are refused.
    assert_eq!(
        k.e.liquidate("BTCUSDT").map_err(|e| e.code).err(),
        Some(-1000)
    );
    assert_eq!(
        k.e.liquidate("NOPEUSDT").map_err(|e| e.code).err(),
        Some(-1121)
    );
    // A short is bought back.
    let o = k.e.liquidate("ETHUSDT").unwrap();
    assert_eq!(
        (o["side"].as_str(), o["executedQty"].as_str()),
        (Some("BUY"), Some("0.100"))
    );
    assert_eq!(k.e.positions()[ETH]["positionAmt"], "0.000");
}

#[test]
fn position_risk_and_account_follow_the_position() {
    let k = positions();
    let v2 = k.e.position_risk(&ps(&[]), false).unwrap();
    assert_eq!(v2.as_array().unwrap().len(), 2);
    assert_eq!(v2[BTC]["positionAmt"], "0.002");
    assert_eq!(v2[ETH]["positionAmt"], "-0.100");
    assert_eq!(v2[BTC]["leverage"], "20");
    let v3 =
        k.e.position_risk(&ps(&[("symbol", "ETHUSDT")]), true)
            .unwrap();
    assert_eq!(v3.as_array().unwrap().len(), 1);
    assert!(v3[0].get("leverage").is_none());
    let acct = k.e.account(true);
    assert_eq!(acct["positions"].as_array().unwrap().len(), 2);
    let wallet: f64 = acct["totalWalletBalance"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((wallet - k.e.wallet()).abs() < 1e-8);
}
