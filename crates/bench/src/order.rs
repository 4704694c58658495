//! `shmtrader bench order`: signal in hand → signed order on the wire, and the REST round
//! trip to the in-process mock exchange.
//!
//! * `order.sign_and_send`: from a signal's float price and size to the signed request
//!   body ready to write: float → exact tick/step units, every filter check, the cached
//!   per-symbol/side/type prefix, integer formatting, HMAC-SHA256 with the pre-keyed
//!   state, hex — into one reused buffer (no allocation). The client order id is written
//!   into a reused `String` inside the timed region. One clock-read pair per sample is
//!   included (~2 × 20 ns). Baseline `order.sign_naive`: the usual way — `format!` of
//!   every parameter with float formatting, HMAC keyed from the secret per request,
//!   `hex::encode` into a fresh `String`, and a second `format!` to append it.
//! * `order.roundtrip_mock`: `RestClient::new_order` (LIMIT IOC placed away from the
//!   market, so it expires at once and nothing accumulates) against the mock on
//!   loopback over the warmed keep-alive connection, until the parsed answer is in hand.
//!   Baseline `order.roundtrip_cold`: the same order from a fresh client whose first
//!   request must open its TCP connection — what a client without a warmed pool pays.
//!   Both include the mock's own request handling and matching.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{BenchError, Result};
use crate::{BenchOptions, Row};
use shmtrader_core::instrument::{Instrument, PriceRounding};
use shmtrader_core::Side;
use shmtrader_exchange::rest::{RestClient, RestConfig};
use shmtrader_exchange::sign::{ApiSecret, Credentials, Signer};
use shmtrader_exchange::template::{
    instrument_from_filters, instrument_from_info, OrderEncoder, OrderKind, OrderRequest, Price,
    SymbolTemplate, TemplateConfig, TimeInForce,
};
use shmtrader_exchange::wire::account::{OrderStatus, SymbolFilter};

const KEY: &str = "bench-key";
const SECRET: &str = "bench-secret-0123456789abcdef0123456789abcdef0123456789abcdef";

fn inv(what: &str, e: impl std::fmt::Display) -> BenchError {
    BenchError::Invalid(format!("{what}: {e}"))
}

fn btc_rules() -> Result<Instrument> {
    instrument_from_filters(
        "BTCUSDT",
        &[
            SymbolFilter::PriceFilter {
                min_price: "0.10".into(),
                max_price: "1000000".into(),
                tick_size: "0.10".into(),
            },
            SymbolFilter::LotSize {
                min_qty: "0.001".into(),
                max_qty: "1000".into(),
                step_size: "0.001".into(),
            },
            SymbolFilter::MarketLotSize {
                min_qty: "0.001".into(),
                max_qty: "120".into(),
                step_size: "0.001".into(),
            },
            SymbolFilter::MinNotional {
                notional: "100".into(),
            },
        ],
    )
    .map_err(|e| inv("rules", e))
}

/// The hot path: float signal → signed body bytes.
fn sign_and_send(opts: &BenchOptions) -> Result<(Vec<f64>, Vec<f64>)> {
    let n = if opts.quick { 20_000 } else { 500_000 };
    let tpl = SymbolTemplate::new(btc_rules()?, &TemplateConfig::default())
        .map_err(|e| inv("template", e))?;
    let secret = ApiSecret::new(SECRET).map_err(|e| inv("secret", e))?;
    let mut enc = OrderEncoder::new(Signer::new(&secret).map_err(|e| inv("signer", e))?);
    let mut coid = String::with_capacity(40);
    let ts0 = 1_700_000_000_000u64;
    let mut samples = Vec::with_capacity(n);
    let mut bytes = 0usize;
    for i in 0..n as u64 {
        // A signal as analytics hands it over: floats.
        let px = 64_000.0 + (i % 100) as f64 * 0.37;
        let size = 0.002 + (i % 7) as f64 * 0.0013;
        let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
        let t0 = Instant::now();
        let rules = tpl.rules();
        let price = rules
            .price_from_f64(px, side, PriceRounding::Passive)
            .map_err(|e| inv("price", e))?;
        let qty = rules.round_qty_down(size).map_err(|e| inv("qty", e))?;
        coid.clear();
        let _ = write!(coid, "paper-{i:x}-0");
        let req = OrderRequest {
            side,
            kind: OrderKind::Limit(TimeInForce::Gtc),
            qty,
            price,
            reduce_only: false,
            client_order_id: &coid,
            reference_price: None,
        };
        let body = enc
            .encode(&tpl, &req, ts0 + i)
            .map_err(|e| inv("encode", e))?;
        bytes += body.len();
        let dt = t0.elapsed().as_nanos() as f64;
        samples.push(dt);
    }
    std::hint::black_box(bytes);
    // Baseline: format!-based building, HMAC keyed per request, hex into a String.
    let m = if opts.quick { 20_000 } else { 200_000 };
    let mut base = Vec::with_capacity(m);
    let mut total = 0usize;
    for i in 0..m as u64 {
        let px = 64_000.0 + (i % 100) as f64 * 0.37;
        let size = 0.002 + (i % 7) as f64 * 0.0013;
        let side = if i % 2 == 0 { "BUY" } else { "SELL" };
        let t0 = Instant::now();
        let price = (px * 10.0).floor() / 10.0;
        let qty = (size * 1000.0).floor() / 1000.0;
        let coid = format!("paper-{i:x}-0");
        let query = format!(
            "symbol={}&side={}&type=LIMIT&timeInForce=GTC&quantity={:.3}&price={:.1}&newClientOrderId={}&newOrderRespType=RESULT&recvWindow=5000&timestamp={}",
            "BTCUSDT",
            side,
            qty,
            price,
            coid,
            ts0 + i
        );
        let signer = Signer::new(&ApiSecret::new(SECRET).map_err(|e| inv("secret", e))?)
            .map_err(|e| inv("signer", e))?;
        let sig = signer.sign(&query);
        let body = format!("{query}&signature={sig}");
        total += body.len();
        base.push(t0.elapsed().as_nanos() as f64);
    }
    std::hint::black_box(total);
    Ok((samples, base))
}

async fn roundtrip(opts: &BenchOptions) -> Result<(Vec<f64>, Vec<f64>)> {
    let n = if opts.quick { 200 } else { 3_000 };
    let cold_n = if opts.quick { 20 } else { 200 };
    let mock = shmtrader_mockex::spawn(shmtrader_mockex::MockConfig {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        api_key: KEY.into(),
        api_secret: SECRET.into(),
        symbols: vec!["BTCUSDT".into()],
        // The benchmark sends far more orders than Binance allows; limits are not
        // what is measured here.
        weight_limit_1m: u32::MAX / 2,
        order_limit_1m: u32::MAX / 2,
        order_limit_10s: u32::MAX / 2,
        ..Default::default()
    })
    .await
    .map_err(|e| inv("mock", e))?;
    let creds = || Credentials::new(KEY, SECRET).map_err(|e| inv("credentials", e));
    let client = Arc::new(
        RestClient::new(RestConfig::mock(&mock.http_url()), Some(creds()?))
            .map_err(|e| inv("client", e))?,
    );
    client.start().await.map_err(|e| inv("client start", e))?;
    let info = client
        .exchange_info()
        .await
        .map_err(|e| inv("exchangeInfo", e))?;
    let sym = info
        .symbol("BTCUSDT")
        .ok_or_else(|| inv("exchangeInfo", "no BTCUSDT"))?;
    let tpl = SymbolTemplate::new(
        instrument_from_info(sym).map_err(|e| inv("rules", e))?,
        &client.template_config(),
    )
    .map_err(|e| inv("template", e))?;
    let mark: f64 = client
        .position_risk_v2(Some("BTCUSDT"))
        .await
        .map_err(|e| inv("positionRisk", e))?
        .first()
        .and_then(|p| p.mark_price.parse().ok())
        .ok_or_else(|| inv("positionRisk", "no mark price"))?;
    let rules = tpl.rules();
    // 3 % under the market: an IOC buy that cannot fill and expires at once.
    let price: Price = rules
        .price_from_f64(mark * 0.97, Side::Buy, PriceRounding::Passive)
        .map_err(|e| inv("price", e))?;
    let qty = rules
        .min_qty_at(price, false)
        .max(rules.round_qty_down(0.002).map_err(|e| inv("qty", e))?);
    let mut coid = String::with_capacity(40);
    let mut send = |c: Arc<RestClient>, i: u64, tag: &'static str| {
        coid.clear();
        let _ = write!(coid, "bench-{tag}-{i:x}");
        let id = coid.clone();
        let tpl = tpl.clone();
        async move {
            let req = OrderRequest {
                side: Side::Buy,
                kind: OrderKind::Limit(TimeInForce::Ioc),
                qty,
                price,
                reduce_only: false,
                client_order_id: &id,
                reference_price: None,
            };
            let t0 = Instant::now();
            let p = c.new_order(&tpl, &req).await;
            let dt = t0.elapsed().as_nanos() as f64 / 1_000.0;
            match p {
                Ok(p) if p.order().status == OrderStatus::Expired => Ok(dt),
                Ok(p) => Err(inv(
                    "roundtrip",
                    format!("unexpected status {:?}", p.order().status),
                )),
                Err(e) => Err(inv("roundtrip", e)),
            }
        }
    };
    // Warm-up (allocator, connection, mock's caches).
    for i in 0..20 {
        send(Arc::clone(&client), i, "w").await?;
    }
    let mut warm = Vec::with_capacity(n);
    for i in 0..n as u64 {
        warm.push(send(Arc::clone(&client), i, "h").await?);
    }
    let mut cold = Vec::with_capacity(cold_n);
    for i in 0..cold_n as u64 {
        // Built outside the timed region: only the connection set-up is charged.
        let fresh = Arc::new(
            RestClient::new(RestConfig::mock(&mock.http_url()), Some(creds()?))
                .map_err(|e| inv("client", e))?,
        );
        cold.push(send(fresh, i, "c").await?);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    mock.shutdown();
    Ok((warm, cold))
}

/// Runs the order benchmark.
pub fn run(opts: &BenchOptions) -> Result<Vec<Row>> {
    let (mut hot, mut naive) = sign_and_send(opts)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| BenchError::io("tokio runtime", e))?;
    let (mut warm, mut cold) = rt.block_on(roundtrip(opts))?;
    rt.shutdown_timeout(Duration::from_secs(2));
    let naive = Row::latency("order.sign_naive", "ns", &mut naive, None, None);
    let cold = Row::latency("order.roundtrip_cold", "us", &mut cold, None, None);
    let hot = Row::latency(
        "order.sign_and_send",
        "ns",
        &mut hot,
        Some((&naive.name, naive.value)),
        None,
    );
    let warm = Row::latency(
        "order.roundtrip_mock",
        "us",
        &mut warm,
        Some((&cold.name, cold.value)),
        None,
    );
    Ok(vec![hot, naive, warm, cold])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_benchmark_produces_its_rows() {
        let rows = run(&BenchOptions {
            quick: true,
            cpus: (0, 1),
        })
        .unwrap();
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "order.sign_and_send",
                "order.sign_naive",
                "order.roundtrip_mock",
                "order.roundtrip_cold"
            ]
        );
        assert!(rows.iter().all(|r| r.value.is_finite() && r.value > 0.0));
    }
}
