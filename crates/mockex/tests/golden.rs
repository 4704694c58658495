//! Golden key-set tests: for every event and response the mock produces that Binance
//! documents with an example, the mock's JSON has the documented keys with the same
//! JSON types (strings for decimals, numbers for ids and times, bools). Values are not
//! compared. The examples are copied from shared/binance-usdm.md and, where that page
//! has none, from Binance's own examples (as carried by the official connector's
//! fixtures and the exchange crate's wire docs); each names its source.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use shmtrader_mockex::Fault;

const T: Duration = Duration::from_secs(10);

/// binance-usdm.md §3, "Filled MARKET response (RESULT)".
const NEW_ORDER_RESULT: &str = r#"{"orderId":284719273,"symbol":"BTCUSDT","status":"FILLED","clientOrderId":"x-A9C381","price":"0.00","avgPrice":"64050.25000","origQty":"0.002","executedQty":"0.002","cumQty":"0.002","cumQuote":"128.10050","timeInForce":"GTC","type":"MARKET","reduceOnly":false,"closePosition":false,"side":"BUY","positionSide":"BOTH","stopPrice":"0.00","workingType":"CONTRACT_PRICE","priceProtect":false,"origType":"MARKET","priceMatch":"NONE","selfTradePreventionMode":"EXPIRE_MAKER","goodTillDate":0,"updateTime":1784621536001}"#;

/// binance-usdm.md §7, ORDER_TRADE_UPDATE. `AP` and `cr` are documented as "only pushed
/// with TRAILING_STOP_MARKET orders", which the mock does not take.
const ORDER_TRADE_UPDATE: &str = r#"{"e":"ORDER_TRADE_UPDATE","E":1568879465651,"T":1568879465650,"o":{"s":"BTCUSDT","c":"TEST","S":"BUY","o":"LIMIT","f":"GTC","q":"0.001","p":"7100.50","ap":"7100.50","sp":"0","x":"TRADE","X":"PARTIALLY_FILLED","i":8886774,"l":"0.001","z":"0.001","L":"7100.50","N":"USDT","n":"0.01000000","T":1568879465651,"t":12345678,"b":"0","a":"0","m":true,"R":false,"wt":"CONTRACT_PRICE","ot":"LIMIT","ps":"LONG","cp":false,"AP":"0","cr":"0","pP":false,"si":0,"ss":0,"rp":"12.34","V":"EXPIRE_TAKER","pm":"NONE","gtd":0,"er":"0"}}"#;

/// binance-usdm.md §7, ACCOUNT_UPDATE.
const ACCOUNT_UPDATE: &str = r#"{"e":"ACCOUNT_UPDATE","E":1564745798939,"T":1564745798938,"a":{"m":"ORDER","B":[{"a":"USDT","wb":"122624.12345678","cw":"100.12345678","bc":"50.12345678"}],"P":[{"s":"BTCUSDT","pa":"20","ep":"6563.6","bep":"6563.559","cr":"0","up":"2850.21200","mt":"isolated","iw":"13200.70726908","ps":"LONG"}]}}"#;

/// The task brief's ALGO_UPDATE (Binance "Event Algo Order Update"); `rm` is added on
/// REJECTED / EXPIRED only.
const ALGO_UPDATE: &str = r#"{"e":"ALGO_UPDATE","T":1750515742297,"E":1750515742303,"o":{"caid":"Q5xaq5EGKgXXa0fD7fs0Ip","aid":2148719,"at":"CONDITIONAL","o":"STOP_MARKET","s":"BTCUSDT","S":"SELL","ps":"BOTH","f":"GTC","q":"0.010","X":"NEW","ai":"","ap":"0.00000","aq":"0.00000","act":"0","tp":"59000.00","p":"0","V":"EXPIRE_MAKER","wt":"CONTRACT_PRICE","pm":"NONE","cp":false,"pP":false,"R":true,"tt":0,"gtd":0}}"#;

/// binance-usdm.md §7, the expiry event.
const LISTEN_KEY_EXPIRED: &str = r#"{"e":"listenKeyExpired","E":1576653824250,"listenKey":"pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"}"#;

/// Binance "New Algo Order" response (exchange crate `AlgoOrderResponse` doc).
const ALGO_PLACED: &str = r#"{"algoId":2146760,"clientAlgoId":"6B2I9XVcJpCjqPAJ4YoFX7","algoType":"CONDITIONAL","orderType":"STOP_MARKET","symbol":"BNBUSDT","side":"SELL","positionSide":"BOTH","timeInForce":"GTC","quantity":"0.01","algoStatus":"NEW","triggerPrice":"750.000","price":"0.000","icebergQuantity":null,"selfTradePreventionMode":"EXPIRE_MAKER","workingType":"CONTRACT_PRICE","priceMatch":"NONE","closePosition":false,"priceProtect":false,"reduceOnly":false,"activatePrice":"","callbackRate":"","createTime":1750485492076,"updateTime":1750485492076,"triggerTime":0,"goodTillDate":0}"#;

/// Binance "Query Algo Order" response (official connector fixture; its
/// `"icebergQuantity":"null"` is JSON null in Binance's new-order example, as here).
const ALGO_QUERY: &str = r#"{"algoId":2146760,"clientAlgoId":"6B2I9XVcJpCjqPAJ4YoFX7","algoType":"CONDITIONAL","orderType":"TAKE_PROFIT","symbol":"BNBUSDT","side":"SELL","positionSide":"BOTH","timeInForce":"GTC","quantity":"0.01","algoStatus":"CANCELED","actualOrderId":"","actualPrice":"0.00000","actualType":"LIMIT","actualQty":"0.01","triggerPrice":"750.000","price":"750.000","icebergQuantity":null,"tpOrderType":"","selfTradePreventionMode":"EXPIRE_MAKER","workingType":"CONTRACT_PRICE","priceMatch":"NONE","closePosition":false,"priceProtect":false,"reduceOnly":false,"createTime":1750485492076,"updateTime":1750514545091,"triggerTime":0,"goodTillDate":0}"#;

/// Binance "Current All Algo Open Orders" row (official connector fixture, null as above).
const ALGO_OPEN: &str = r#"{"algoId":2148627,"clientAlgoId":"MRumok0dkhrP4kCm12AHaB","algoType":"CONDITIONAL","orderType":"TAKE_PROFIT","symbol":"BNBUSDT","side":"SELL","positionSide":"BOTH","timeInForce":"GTC","quantity":"0.01","algoStatus":"NEW","actualOrderId":"","actualPrice":"0.00000","triggerPrice":"750.000","price":"750.000","icebergQuantity":null,"tpTriggerPrice":"0.000","tpPrice":"0.000","slTriggerPrice":"0.000","slPrice":"0.000","tpOrderType":"","selfTradePreventionMode":"EXPIRE_MAKER","workingType":"CONTRACT_PRICE","priceMatch":"NONE","closePosition":false,"priceProtect":false,"reduceOnly":false,"createTime":1750514941540,"updateTime":1750514941540,"triggerTime":0,"goodTillDate":0}"#;

/// Binance "Cancel Algo Order" response.
const ALGO_CANCELED: &str =
    r#"{"algoId":2146760,"clientAlgoId":"6B2I9XVcJpCjqPAJ4YoFX7","code":"200","msg":"success"}"#;

/// The task brief's userTrades row (Binance "Account Trade List").
const USER_TRADE: &str = r#"{"buyer":false,"commission":"0.07819010","commissionAsset":"USDT","id":698759,"maker":false,"orderId":25851813,"price":"7819.01","qty":"0.002","quoteQty":"15.63802","realizedPnl":"-0.91539999","side":"SELL","positionSide":"BOTH","symbol":"BTCUSDT","time":1569514978020}"#;

/// binance-usdm.md §3, `GET /fapi/v2/positionRisk`.
const POSITION_RISK_V2: &str = r#"{"symbol":"BTCUSDT","positionAmt":"0.000","entryPrice":"0.00000","breakEvenPrice":"0.0","markPrice":"6679.50671178","unRealizedProfit":"0.00000000","liquidationPrice":"0","leverage":"10","maxNotionalValue":"20000000","marginType":"isolated","isolatedMargin":"0.00000000","isAutoAddMargin":"false","positionSide":"BOTH","notional":"0","isolatedWallet":"0","updateTime":0}"#;

/// Binance `GET /fapi/v3/positionRisk` (exchange crate wire doc).
const POSITION_RISK_V3: &str = r#"{"symbol":"ADAUSDT","positionSide":"BOTH","positionAmt":"30","entryPrice":"0.385","breakEvenPrice":"0.385077","markPrice":"0.41047590","unRealizedProfit":"0.76427700","liquidationPrice":"0","isolatedMargin":"0","notional":"12.31427700","marginAsset":"USDT","isolatedWallet":"0","initialMargin":"0.61571385","maintMargin":"0.08004774","positionInitialMargin":"0.61571385","openOrderInitialMargin":"0","adl":2,"bidNotional":"0","askNotional":"0","updateTime":1720736417660}"#;

/// Binance `GET /fapi/v3/account`, single-asset mode (official connector fixture).
const ACCOUNT_V3: &str = r#"{"totalInitialMargin":"0.00000000","totalMaintMargin":"0.00000000","totalWalletBalance":"126.72469206","totalUnrealizedProfit":"0.00000000","totalMarginBalance":"126.72469206","totalPositionInitialMargin":"0.00000000","totalOpenOrderInitialMargin":"0.00000000","totalCrossWalletBalance":"126.72469206","totalCrossUnPnl":"0.00000000","availableBalance":"126.72469206","maxWithdrawAmount":"126.72469206","assets":[{"asset":"USDT","walletBalance":"23.72469206","unrealizedProfit":"0.00000000","marginBalance":"23.72469206","maintMargin":"0.00000000","initialMargin":"0.00000000","positionInitialMargin":"0.00000000","openOrderInitialMargin":"0.00000000","crossWalletBalance":"23.72469206","crossUnPnl":"0.00000000","availableBalance":"23.72469206","maxWithdrawAmount":"23.72469206","updateTime":1625474304765}],"positions":[{"symbol":"BTCUSDT","positionSide":"BOTH","positionAmt":"1.000","unrealizedProfit":"0.00000000","isolatedMargin":"0.00000000","notional":"0","isolatedWallet":"0","initialMargin":"0","maintMargin":"0","updateTime":0}]}"#;

/// Binance `GET /fapi/v2/account` (official connector fixture).
const ACCOUNT_V2: &str = r#"{"feeTier":0,"feeBurn":true,"canTrade":true,"canDeposit":true,"canWithdraw":true,"updateTime":0,"multiAssetsMargin":true,"tradeGroupId":-1,"totalInitialMargin":"0.00000000","totalMaintMargin":"0.00000000","totalWalletBalance":"126.72469206","totalUnrealizedProfit":"0.00000000","totalMarginBalance":"126.72469206","totalPositionInitialMargin":"0.00000000","totalOpenOrderInitialMargin":"0.00000000","totalCrossWalletBalance":"126.72469206","totalCrossUnPnl":"0.00000000","availableBalance":"126.72469206","maxWithdrawAmount":"126.72469206","assets":[{"asset":"USDT","walletBalance":"23.72469206","unrealizedProfit":"0.00000000","marginBalance":"23.72469206","maintMargin":"0.00000000","initialMargin":"0.00000000","positionInitialMargin":"0.00000000","openOrderInitialMargin":"0.00000000","crossWalletBalance":"23.72469206","crossUnPnl":"0.00000000","availableBalance":"126.72469206","maxWithdrawAmount":"23.72469206","marginAvailable":true,"updateTime":1625474304765}],"positions":[{"symbol":"BTCUSDT","initialMargin":"0","maintMargin":"0","unrealizedProfit":"0.00000000","positionInitialMargin":"0","openOrderInitialMargin":"0","leverage":"100","isolated":true,"entryPrice":"0.00000","maxNotional":"250000","bidNotional":"0","askNotional":"0","positionSide":"BOTH","positionAmt":"0","updateTime":0}]}"#;

/// binance-usdm.md §3, `GET /fapi/v2/balance`.
const BALANCE: &str = r#"{"accountAlias":"SgsR","asset":"USDT","balance":"122607.35137903","crossWalletBalance":"23.72469206","crossUnPnl":"0.00000000","availableBalance":"23.72469206","maxWithdrawAmount":"23.72469206","marginAvailable":true,"updateTime":1617939110373}"#;

/// The JSON type of every key, recursively (arrays by their first element).
fn shape(v: &Value) -> Value {
    match v {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(a) => Value::Array(a.first().map(shape).into_iter().collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
    }
}

/// Asserts that `mock` has the documented keys and types. `absent` are documented keys
/// the mock leaves out (with a reason at the call), `extra` keys it adds that this
/// example lacks (documented elsewhere); both as `path.key` (`o.AP`, `positions.isolated`).
fn assert_golden(name: &str, doc: &str, mock: &Value, absent: &[&str], extra: &[&str]) {
    let doc: Value = serde_json::from_str(doc).unwrap();
    let mut want = BTreeMap::new();
    let mut got = BTreeMap::new();
    flatten("", &shape(&doc), &mut want);
    flatten("", &shape(mock), &mut got);
    for k in absent {
        assert!(
            want.remove(*k).is_some(),
            "{name}: `{k}` is not in the example"
        );
    }
    for k in extra {
        assert!(got.remove(*k).is_some(), "{name}: the mock has no `{k}`");
    }
    let missing: Vec<_> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let unknown: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "{name}: missing {missing:?}, not documented {unknown:?}\nmock: {mock}"
    );
    for (k, t) in &want {
        assert_eq!(
            &got[k], t,
            "{name}: `{k}` has the wrong JSON type in {mock}"
        );
    }
}

/// `{"a":{"b":"string"}}` → `a.b: "string"`; arrays descend into their first element.
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match v {
                    Value::Object(_) | Value::Array(_) => {
                        out.insert(
                            p.clone(),
                            if v.is_object() { "object" } else { "array" }.into(),
                        );
                        flatten(&p, v, out);
                    }
                    other => {
                        out.insert(p, other.as_str().unwrap_or("?").to_string());
                    }
                }
            }
        }
        Value::Array(a) => {
            if let Some(first) = a.first() {
                flatten(prefix, first, out);
            }
        }
        _ => {}
    }
}

async fn signed(c: &Client, method: Method, path: &str, p: &[(&str, &str)]) -> Value {
    let r = c.signed(method, path, p).await;
    assert_eq!(r.status, 200, "{path}: {:?}", r.body);
    r.body
}

#[tokio::test]
async fn every_documented_event_and_response_has_binance_key_set() {
    let h = start(cfg()).await;
    let c = Client::new(&h);
    let key = c.listen_key().await;
    let mut user = ws(&h, &format!("/ws/{key}")).await;

    // New order (RESULT), its TRADE event and ACCOUNT_UPDATE.
    let result = signed(
        &c,
        Method::POST,
        "/fapi/v1/order",
        &[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quantity", "0.002"),
            ("newOrderRespType", "RESULT"),
        ],
    )
    .await;
    assert_golden("new order RESULT", NEW_ORDER_RESULT, &result, &[], &[]);
    let trade = wait_for(&mut user, T, |v| {
        v["e"] == "ORDER_TRADE_UPDATE" && v["o"]["x"] == "TRADE"
    })
    .await
    .unwrap();
    assert_golden(
        "ORDER_TRADE_UPDATE",
        ORDER_TRADE_UPDATE,
        &trade,
        &["o.AP", "o.cr"],
        &[],
    );
    let acc = wait_for(&mut user, T, |v| v["e"] == "ACCOUNT_UPDATE")
        .await
        .unwrap();
    assert_golden("ACCOUNT_UPDATE", ACCOUNT_UPDATE, &acc, &[], &[]);

    // Account views while the position is open.
    let trades = signed(
        &c,
        Method::GET,
        "/fapi/v1/userTrades",
        &[("symbol", "BTCUSDT")],
    )
    .await;
    assert_golden("userTrades", USER_TRADE, &trades[0], &[], &[]);
    let pr2 = signed(
        &c,
        Method::GET,
        "/fapi/v2/positionRisk",
        &[("symbol", "BTCUSDT")],
    )
    .await;
    assert_golden("positionRisk v2", POSITION_RISK_V2, &pr2[0], &[], &[]);
    let pr3 = signed(&c, Method::GET, "/fapi/v3/positionRisk", &[]).await;
    assert_golden("positionRisk v3", POSITION_RISK_V3, &pr3[0], &[], &[]);
    let a3 = signed(&c, Method::GET, "/fapi/v3/account", &[]).await;
    assert_golden("account v3", ACCOUNT_V3, &a3, &[], &[]);
    let a2 = signed(&c, Method::GET, "/fapi/v2/account", &[]).await;
    // The connector's v2 example omits position keys that v3 and positionRisk document.
    let v2_extra = [
        "positions.isolatedMargin",
        "positions.notional",
        "positions.isolatedWallet",
        "positions.breakEvenPrice",
    ];
    assert_golden("account v2", ACCOUNT_V2, &a2, &[], &v2_extra);
    let bal = signed(&c, Method::GET, "/fapi/v2/balance", &[]).await;
    assert_golden("balance", BALANCE, &bal[0], &[], &[]);

    // Algo order: placed, NEW event, query, open list, cancel.
    let mark = c.mark("BTCUSDT").await;
    let stop = format!("{:.2}", ((mark * 0.9) * 10.0).floor() / 10.0);
    let algo_params = [
        ("algoType", "CONDITIONAL"),
        ("symbol", "BTCUSDT"),
        ("side", "SELL"),
        ("type", "STOP_MARKET"),
        ("triggerPrice", stop.as_str()),
        ("reduceOnly", "true"),
        ("quantity", "0.002"),
        ("clientAlgoId", "g-1"),
    ];
    let placed = signed(&c, Method::POST, "/fapi/v1/algoOrder", &algo_params).await;
    assert_golden("algo order placed", ALGO_PLACED, &placed, &[], &[]);
    let ev = wait_for(&mut user, T, |v| v["e"] == "ALGO_UPDATE")
        .await
        .unwrap();
    assert_golden("ALGO_UPDATE", ALGO_UPDATE, &ev, &[], &[]);
    let q = signed(
        &c,
        Method::GET,
        "/fapi/v1/algoOrder",
        &[("clientAlgoId", "g-1")],
    )
    .await;
    assert_golden("algo order query", ALGO_QUERY, &q, &[], &[]);
    let open = signed(&c, Method::GET, "/fapi/v1/openAlgoOrders", &[]).await;
    assert_golden("open algo orders", ALGO_OPEN, &open[0], &[], &[]);
    let canceled = signed(
        &c,
        Method::DELETE,
        "/fapi/v1/algoOrder",
        &[("clientAlgoId", "g-1")],
    )
    .await;
    assert_golden("algo order canceled", ALGO_CANCELED, &canceled, &[], &[]);
    let ev = wait_for(&mut user, T, |v| v["e"] == "ALGO_UPDATE")
        .await
        .unwrap();
    assert_eq!(ev["o"]["X"], "CANCELED");
    assert_golden("ALGO_UPDATE canceled", ALGO_UPDATE, &ev, &[], &[]);

    // An EXPIRED update carries `rm`: a reduce-only stop outlives its position.
    let near = format!("{:.2}", ((mark * 0.99) * 10.0).floor() / 10.0);
    let mut p = algo_params;
    p[4].1 = near.as_str();
    p[7].1 = "g-2";
    signed(&c, Method::POST, "/fapi/v1/algoOrder", &p).await;
    h.liquidate("BTCUSDT").unwrap();
    h.move_price("BTCUSDT", -3.0).unwrap();
    let ev = wait_for(&mut user, T, |v| {
        v["e"] == "ALGO_UPDATE" && v["o"]["X"] == "EXPIRED"
    })
    .await
    .unwrap();
    assert_golden("ALGO_UPDATE expired", ALGO_UPDATE, &ev, &[], &["o.rm"]);

    // listenKeyExpired.
    h.inject(Fault::ExpireListenKeys);
    let ev = wait_for(&mut user, T, |v| v["e"] == "listenKeyExpired")
        .await
        .unwrap();
    assert_golden("listenKeyExpired", LISTEN_KEY_EXPIRED, &ev, &[], &[]);
}

#[test]
fn golden_check_catches_a_missing_key_and_a_wrong_type() {
    let doc = r#"{"a":"1","b":2,"c":[{"d":true}]}"#;
    let ok = json!({"a":"9","b":7,"c":[{"d":false}]});
    assert_golden("same", doc, &ok, &[], &[]);
    for bad in [
        json!({"a":"9","c":[{"d":false}]}),
        json!({"a":9,"b":7,"c":[{"d":false}]}),
        json!({"a":"9","b":7,"c":[{"d":"false"}]}),
        json!({"a":"9","b":7,"c":[{"d":false}],"e":1}),
    ] {
        let r = std::panic::catch_unwind(|| assert_golden("bad", doc, &bad, &[], &[]));
        assert!(r.is_err(), "{bad} passed");
    }
}
