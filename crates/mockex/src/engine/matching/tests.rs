#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::super::testkit::{kit, ps};
use super::super::Endpoint;

const BTC: usize = 0;

#[test]
fn resting_buy_fills_as_maker_when_sellers_trade_through_it() {
    let mut k = kit(&["BTCUSDT"]);
    k.book(BTC, 6_000_000, 10, 5);
    let (ack, _) =
        k.e.new_order(
            &ps(&[
                ("symbol", "BTCUSDT"),
                ("side", "BUY"),
                ("type", "LIMIT"),
                ("timeInForce", "GTC"),
                ("quantity", "0.002"),
                ("price", "59999.90"),
            ]),
            Endpoint::Order,
        )
        .unwrap();
    assert_eq!(ack["status"], "NEW");
    k.events();
    // A buyer-taker print at the order's price does not reach a bid.
    k.trade(BTC, 5_999_990, 5, false);
    assert!(k.events().is_empty());
    // A seller trading below it fills it whole, as maker, at its own price.
    k.trade(BTC, 5_999_980, 1, true);
    let ev = k.events();
    assert_eq!(ev[0]["o"]["x"], "TRADE");
    assert_eq!(ev[0]["o"]["X"], "FILLED");
    assert_eq!(ev[0]["o"]["m"], true);
    assert_eq!(ev[0]["o"]["L"], "59999.90");
    assert_eq!(ev[1]["e"], "ACCOUNT_UPDATE");
    assert!(k
        .e
        .open_orders(&ps(&[]))
        .unwrap()
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn market_order_walks_the_book_one_trade_event_per_level() {
    let mut k = kit(&["BTCUSDT"]);
    k.book(BTC, 6_000_000, 50, 20); // 0.050 BTC a level, asks from 60000.10
    k.market("BTCUSDT", "BUY", "0.120").unwrap();
    let ev = k.events();
    let trades: Vec<&serde_json::Value> = ev
        .iter()
        .filter(|v| v["e"] == "ORDER_TRADE_UPDATE" && v["o"]["x"] == "TRADE")
        .map(|v| &v["o"])
        .collect();
    // (l, L, z, X)
    let got: Vec<(&str, &str, &str, &str)> = trades
        .iter()
        .map(|o| {
            (
                o["l"].as_str().unwrap(),
                o["L"].as_str().unwrap(),
                o["z"].as_str().unwrap(),
                o["X"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("0.050", "60000.10", "0.050", "PARTIALLY_FILLED"),
            ("0.050", "60000.20", "0.100", "PARTIALLY_FILLED"),
            ("0.020", "60000.30", "0.120", "FILLED"),
        ]
    );
    let ids: Vec<u64> = trades.iter().map(|o| o["t"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[1] > w[0]), "{ids:?}");
    for o in &trades {
        assert_eq!(o["N"], "USDT");
        assert_eq!(o["m"], false);
        assert!(o["n"].as_str().unwrap().parse::<f64>().unwrap() > 0.0);
        assert_eq!(o["rp"], "0.00000000");
    }
    // Each fill is followed by its ACCOUNT_UPDATE.
    let kinds: Vec<&str> = ev[1..].iter().map(|v| v["e"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "ORDER_TRADE_UPDATE",
            "ACCOUNT_UPDATE",
            "ORDER_TRADE_UPDATE",
            "ACCOUNT_UPDATE",
            "ORDER_TRADE_UPDATE",
            "ACCOUNT_UPDATE"
        ]
    );
}

#[test]
fn market_remainder_expires_with_reason_9_when_the_book_runs_out() {
    let mut k = kit(&["BTCUSDT"]);
    k.book(BTC, 6_000_000, 10, 3); // 0.030 BTC on the ask side in all
    let r = k.market("BTCUSDT", "BUY", "0.050").unwrap();
    assert_eq!(
        (r["status"].as_str(), r["executedQty"].as_str()),
        (Some("EXPIRED"), Some("0.030"))
    );
    let last = k
        .events()
        .into_iter()
        .rfind(|v| v["e"] == "ORDER_TRADE_UPDATE")
        .unwrap();
    assert_eq!(
        (last["o"]["x"].as_str(), last["o"]["X"].as_str()),
        (Some("EXPIRED"), Some("EXPIRED"))
    );
    assert_eq!(last["o"]["er"], "9");
    assert_eq!(last["o"]["z"], "0.030");
}

/// Levels a 0.050 BTC (about 3,000 USDT) market buy takes against a bare bookTicker
/// whose ask shows 0.020 BTC, for one seed.
fn ticker_levels(seed: u64) -> Vec<(String, String)> {
    let mut k = super::super::testkit::kit_with(
        &["BTCUSDT"],
        crate::config::MockConfig {
            seed,
            ..crate::config::MockConfig::default()
        },
    );
    k.ticker(BTC, (5_999_990, 20), (6_000_000, 20));
    k.market("BTCUSDT", "BUY", "0.050").unwrap();
    k.events()
        .iter()
        .filter(|v| v["o"]["x"] == "TRADE")
        .map(|v| {
            (
                v["o"]["L"].as_str().unwrap().to_string(),
                v["o"]["l"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn bare_touch_has_finite_depth_behind_it_deterministic_per_seed() {
    let a = ticker_levels(7);
    assert_eq!(a, ticker_levels(7));
    assert_eq!(
        a[0],
        ("60000.00".to_string(), "0.020".to_string()),
        "the touch at its quoted size"
    );
    for (i, (px, _)) in a.iter().enumerate() {
        let want = format!("{:.2}", 60_000.0 + 0.1 * i as f64);
        assert_eq!(px, &want, "levels one tick apart");
    }
    let counts: Vec<usize> = (0..100).map(|s| ticker_levels(s).len()).collect();
    let multi = counts.iter().filter(|n| **n > 1).count();
    let small = counts.iter().filter(|n| **n <= 3).count();
    assert!(
        multi == 100,
        "the touch alone never holds 0.050: {counts:?}"
    );
    assert!(small >= 80, "usually 1-3 levels: {counts:?}");
    assert!(
        (0..100).any(|s| ticker_levels(s) != a),
        "sizes vary with the seed"
    );
}

#[test]
fn bnb_fee_asset_reports_commission_in_bnb_and_debits_usdt() {
    use crate::config::MockConfig;
    // (listed symbols, BNB price used)
    // BNBUSDT quoted 600.000 / 600.010 when listed: mark 600.005.
    let cases: [(&[&str], f64); 2] = [(&["BTCUSDT"], 580.0), (&["BTCUSDT", "BNBUSDT"], 600.005)];
    for (symbols, bnb) in cases {
        let mut k = super::super::testkit::kit_with(
            symbols,
            MockConfig {
                fee_asset: "BNB".into(),
                ..MockConfig::default()
            },
        );
        k.book(BTC, 6_000_000, 50, 5);
        if symbols.len() == 2 {
            let spec = k.e.mk[1].spec;
            assert_eq!((spec.price_dp, spec.tick), (3, 10), "BNBUSDT tick 0.010");
            k.book(1, 600_000, 1_000, 5);
        }
        let before = k.e.wallet();
        k.market("BTCUSDT", "BUY", "0.002").unwrap();
        let tr = k
            .events()
            .into_iter()
            .find(|v| v["o"]["x"] == "TRADE")
            .unwrap();
        let usdt_fee = 60_000.10 * 0.002 * 0.0005;
        assert_eq!(tr["o"]["N"], "BNB");
        let n: f64 = tr["o"]["n"].as_str().unwrap().parse().unwrap();
        assert!(
            (n - usdt_fee / bnb).abs() < 1e-8,
            "{n} vs {}",
            usdt_fee / bnb
        );
        assert!((before - k.e.wallet() - usdt_fee).abs() < 1e-9);
        let ut = k.e.user_trades(&ps(&[("symbol", "BTCUSDT")])).unwrap();
        assert_eq!(ut[0]["commissionAsset"], "BNB");
        assert_eq!(ut[0]["commission"], tr["o"]["n"]);
    }
}
