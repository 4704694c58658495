//! The start-up steps against an account, before the first order; a step that fails
//! refuses to trade with the reason ([`Refusal`]).
//!
//! 1. connect, warm the pool, measure the clock offset (refuse beyond
//!    `venue.max_time_offset_ms`);
//! 2. exchangeInfo: every configured symbol listed and TRADING, its rules, the venue's
//!    rate limits;
//! 3. one-way position mode (switched if it can be, else refused: the executor nets
//!    one position per symbol);
//! 4. per symbol: leverage and margin type (-4046 / -4059 "no need to change" are
//!    successes), and the leverage bracket's notional cap at that leverage;
//! 5. the account: wallet balance, available balance, positions, open orders and
//!    resting conditional orders (also answered later to [`super::Command::Snapshot`]).

use super::Refusal;
use shmtrader_core::config::MarginMode;
use shmtrader_core::instrument::Instrument;
use shmtrader_core::Side;
use shmtrader_exchange::rest::{MarginType, RestClient};
use shmtrader_exchange::template::{instrument_from_info, TemplateBook};
use shmtrader_exchange::{ApiErrorKind, ExchangeError};

/// An open position on the account.
#[derive(Debug, Clone, PartialEq)]
pub struct PositionInfo {
    /// Symbol id.
    pub symbol_id: u32,
    /// Signed size.
    pub amt: f64,
    /// Entry price.
    pub entry: f64,
}

/// An open (non-conditional) order on the account.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenOrderInfo {
    /// Symbol id.
    pub symbol_id: u32,
    /// Client order id.
    pub coid: String,
    /// Exchange order id.
    pub order_id: u64,
}

/// A resting conditional order on the account.
#[derive(Debug, Clone, PartialEq)]
pub struct AlgoInfo {
    /// Symbol id.
    pub symbol_id: u32,
    /// Client algo id.
    pub coid: String,
    /// Algo id.
    pub algo_id: u64,
    /// Side.
    pub side: Side,
    /// Trigger price as the exchange prints it.
    pub trigger: String,
}

/// The account as the exchange has it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccountSnapshot {
    /// USDT wallet balance.
    pub wallet: f64,
    /// Available balance.
    pub available: f64,
    /// Open positions of the configured symbols.
    pub positions: Vec<PositionInfo>,
    /// Open orders of the configured symbols.
    pub open_orders: Vec<OpenOrderInfo>,
    /// Resting conditional orders of the configured symbols.
    pub open_algos: Vec<AlgoInfo>,
}

/// What the start-up steps found.
#[derive(Debug, Clone)]
pub struct Startup {
    /// `paper`, `demo`, `testnet` or `live`.
    pub mode: &'static str,
    /// Each symbol's rules (symbol-id order).
    pub instruments: Vec<Instrument>,
    /// Each symbol's largest position notional at the configured leverage.
    pub notional_caps: Vec<f64>,
    /// The account.
    pub account: AccountSnapshot,
    /// Clock offset to the venue (ms).
    pub time_offset_ms: i64,
}

fn step(step: &'static str, symbol: Option<&str>, e: &ExchangeError) -> Refusal {
    if e.is_auth() {
        return Refusal::Auth {
            code: e.api_code().unwrap_or(0),
            msg: e.to_string(),
        };
    }
    Refusal::Step {
        step,
        symbol: symbol.map(str::to_string),
        code: e.api_code(),
        detail: e.to_string(),
    }
}

/// Steps 2–4: rules, position mode, leverage, margin type, brackets.
pub(super) async fn configure(
    client: &RestClient,
    symbols: &[String],
    leverage: u32,
    margin: MarginMode,
) -> Result<(TemplateBook, Vec<Instrument>, Vec<f64>), Refusal> {
    let info = client
        .exchange_info()
        .await
        .map_err(|e| step("exchangeInfo", None, &e))?;
    client.set_exchange_limits(info.limits());
    for sym in symbols {
        match info.symbol(sym) {
            None => {
                return Err(Refusal::SymbolNotTrading {
                    symbol: sym.clone(),
                    status: "not listed".into(),
                })
            }
            Some(s) if s.status != "TRADING" => {
                return Err(Refusal::SymbolNotTrading {
                    symbol: sym.clone(),
                    status: s.status.clone(),
                })
            }
            Some(_) => {}
        }
    }
    let names: Vec<&str> = symbols.iter().map(String::as_str).collect();
    let book = TemplateBook::from_exchange_info(&info, &names, &client.template_config())
        .map_err(|e| step("exchangeInfo", None, &e))?;
    let mut instruments = Vec::with_capacity(symbols.len());
    for sym in symbols {
        let s = info.symbol(sym).ok_or_else(|| Refusal::SymbolNotTrading {
            symbol: sym.clone(),
            status: "not listed".into(),
        })?;
        instruments.push(instrument_from_info(s).map_err(|e| step("exchangeInfo", Some(sym), &e))?);
    }
    // One-way mode: the executor nets one position per symbol.
    match client.position_mode().await {
        Ok(false) => {}
        Ok(true) => {
            if let Err(e) = client.set_position_mode(false).await {
                return Err(Refusal::HedgeMode {
                    code: e.api_code().unwrap_or(0),
                    msg: e.to_string(),
                });
            }
            tracing::warn!("the account was in hedge mode; switched to one-way mode");
        }
        Err(e) => return Err(step("position mode", None, &e)),
    }
    let mt = match margin {
        MarginMode::Cross => MarginType::Crossed,
        MarginMode::Isolated => MarginType::Isolated,
    };
    for sym in symbols {
        match client.set_leverage(sym, leverage).await {
            Ok(_) => {}
            Err(e) if e.api_kind() == Some(ApiErrorKind::NoChangeNeeded) => {}
            Err(e) => return Err(step("setting leverage", Some(sym), &e)),
        }
        match client.set_margin_type(sym, mt).await {
            Ok(_) => {}
            Err(e) if e.api_kind() == Some(ApiErrorKind::NoChangeNeeded) => {}
            Err(e) => return Err(step("setting the margin type", Some(sym), &e)),
        }
    }
    let brackets = client
        .leverage_brackets(None)
        .await
        .map_err(|e| step("leverage brackets", None, &e))?;
    let caps = symbols
        .iter()
        .map(|sym| {
            brackets
                .iter()
                .find(|b| &b.symbol == sym)
                .map(|b| {
                    b.brackets
                        .iter()
                        .filter(|br| br.initial_leverage >= leverage)
                        .map(|br| br.notional_cap)
                        .fold(0.0, f64::max)
                })
                .filter(|c| *c > 0.0)
                .unwrap_or(f64::INFINITY)
        })
        .collect();
    Ok((book, instruments, caps))
}

/// Step 5 (and [`super::Command::Snapshot`]): the account.
pub(super) async fn snapshot(
    client: &RestClient,
    symbols: &[String],
) -> Result<AccountSnapshot, Refusal> {
    let id_of = |s: &str| symbols.iter().position(|x| x == s).map(|i| i as u32);
    // `/fapi/v3/account` is not served everywhere (older testnets): fall back to v2.
    let acct = match client.account_v3().await {
        Ok(a) => a,
        Err(_) => client
            .account()
            .await
            .map_err(|e| step("account", None, &e))?,
    };
    let usdt = acct
        .assets
        .iter()
        .find(|a| a.asset == "USDT")
        .and_then(|a| a.wallet_balance.parse::<f64>().ok());
    let wallet = match usdt {
        Some(w) => w,
        None => acct
            .total_wallet_balance
            .parse::<f64>()
            .map_err(|_| Refusal::Step {
                step: "account",
                symbol: None,
                code: None,
                detail: format!(
                    "totalWalletBalance {:?} is not a number",
                    acct.total_wallet_balance
                ),
            })?,
    };
    let available = acct.available_balance.parse::<f64>().unwrap_or(0.0);
    let risk = client
        .position_risk_v2(None)
        .await
        .map_err(|e| step("positions", None, &e))?;
    let mut positions = Vec::new();
    for p in &risk {
        let Some(id) = id_of(&p.symbol) else {
            continue;
        };
        let amt = p.position_amt.parse::<f64>().map_err(|_| Refusal::Step {
            step: "positions",
            symbol: Some(p.symbol.clone()),
            code: None,
            detail: format!("positionAmt {:?} is not a number", p.position_amt),
        })?;
        if amt != 0.0 {
            positions.push(PositionInfo {
                symbol_id: id,
                amt,
                entry: p.entry_price.parse().unwrap_or(0.0),
            });
        }
    }
    // Per symbol (weight 1 each) rather than the whole account (weight 40) for up to
    // 20 symbols: a restart must not eat the minute's request weight.
    let per_symbol = symbols.len() <= 20;
    let mut orders = Vec::new();
    let mut algos = Vec::new();
    if per_symbol {
        for sym in symbols {
            orders.extend(
                client
                    .open_orders(Some(sym))
                    .await
                    .map_err(|e| step("open orders", Some(sym), &e))?,
            );
            algos.extend(
                client
                    .open_algo_orders(Some(sym))
                    .await
                    .map_err(|e| step("open conditional orders", Some(sym), &e))?,
            );
        }
    } else {
        orders = client
            .open_orders(None)
            .await
            .map_err(|e| step("open orders", None, &e))?;
        algos = client
            .open_algo_orders(None)
            .await
            .map_err(|e| step("open conditional orders", None, &e))?;
    }
    let open_orders = orders
        .iter()
        .filter_map(|o| {
            Some(OpenOrderInfo {
                symbol_id: id_of(&o.symbol)?,
                coid: o.client_order_id.clone(),
                order_id: o.order_id,
            })
        })
        .collect();
    let open_algos = algos
        .iter()
        .filter_map(|a| {
            Some(AlgoInfo {
                symbol_id: id_of(&a.symbol)?,
                coid: a.client_algo_id.clone(),
                algo_id: a.algo_id,
                side: a.side,
                trigger: a.trigger_price.clone(),
            })
        })
        .collect();
    Ok(AccountSnapshot {
        wallet,
        available,
        positions,
        open_orders,
        open_algos,
    })
}
