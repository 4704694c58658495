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
