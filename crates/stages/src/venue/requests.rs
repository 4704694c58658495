//! What the I/O thread does for each of the executor's commands and each user-stream
//! event: REST calls through the one client, answers turned into [`VenueEvent`]s in the
//! executor's terms (exact quantities, USDT commissions, the journal's statuses).

use super::io::Io;
use super::startup::snapshot;
use super::{
    AlgoReport, AlgoReq, BalanceReason, Command, OrderReport, OrderReq, TradeReport, VenueEvent,
};
use shmtrader_core::instrument::{Instrument, Qty};
use shmtrader_exchange::rest::{
    AlgoOrderRequest, AlgoType, OrderRef, Placement, UserTradesQuery, WorkingType as WireWorking,
};
use shmtrader_exchange::template::{OrderKind, OrderRequest};
use shmtrader_exchange::user::UserStreamMsg;
use shmtrader_exchange::wire::account::UserEvent;
use shmtrader_exchange::{ApiErrorKind, ExchangeError};
use shmtrader_journal::{AlgoStatus, OrderStatus, WorkingType};
use shmtrader_risk::StopKind;
use std::time::Duration;

fn rest_status(s: shmtrader_exchange::wire::account::OrderStatus) -> OrderStatus {
    use shmtrader_exchange::wire::account::OrderStatus as W;
    match s {
        W::New | W::Unknown => OrderStatus::New,
        W::PartiallyFilled => OrderStatus::PartiallyFilled,
        W::Filled => OrderStatus::Filled,
        W::Canceled => OrderStatus::Canceled,
        W::Expired => OrderStatus::Expired,
        W::ExpiredInMatch => OrderStatus::ExpiredInMatch,
    }
}

fn journal_algo_status(s: &str) -> Option<AlgoStatus> {
    AlgoStatus::from_binance(s)
}

fn refused(coid: &str, e: &ExchangeError) -> VenueEvent {
    VenueEvent::Rejected {
        coid: coid.to_string(),
        code: e.api_code().unwrap_or(0),
        msg: e.to_string(),
    }
}

impl Io {
    fn symbol_id(&self, s: &str) -> Option<u32> {
        self.symbols.iter().position(|x| x == s).map(|i| i as u32)
    }

    fn rules(&self, symbol_id: u32) -> Option<&Instrument> {
        self.book.at(symbol_id as usize).map(|t| t.rules())
    }

    fn qty(&self, symbol_id: u32, text: &str) -> Option<Qty> {
        self.rules(symbol_id)?.parse_qty(text).ok()
    }

    pub(super) async fn command(&mut self, c: Command) -> Vec<VenueEvent> {
        match c {
            Command::Place(r) => vec![self.place(&r).await],
            Command::PlaceAlgo(r) => vec![self.place_algo(&r).await],
            Command::CancelAlgo { coid, .. } => {
                match self.client.cancel_algo_order_by_client_id(&coid).await {
                    Ok(_) => vec![VenueEvent::AlgoCanceled { coid, found: true }],
                    Err(e) if e.api_kind() == Some(ApiErrorKind::NotFound) => {
                        vec![VenueEvent::AlgoCanceled { coid, found: false }]
                    }
                    Err(e) => vec![VenueEvent::Failed {
                        command: "cancel stop",
                        coid: Some(coid),
                        cause: e.to_string(),
                    }],
                }
            }
            Command::QueryOrder { symbol_id, coid } => {
                let Some(sym) = self.symbols.get(symbol_id as usize).cloned() else {
                    return Vec::new();
                };
                match self.client.query_order(&sym, OrderRef::Client(&coid)).await {
                    Ok(o) => {
                        let (Some(executed), Some(orig), Some(side)) = (
                            self.qty(symbol_id, &o.executed_qty),
                            self.qty(symbol_id, &o.orig_qty),
                            shmtrader_exchange::wire::enums::parse_side(&o.side),
                        ) else {
                            return vec![VenueEvent::Failed {
                                command: "query order",
                                coid: Some(coid),
                                cause: format!(
                                    "unreadable answer: executedQty {:?}, origQty {:?}, side {:?}",
                                    o.executed_qty, o.orig_qty, o.side
                                ),
                            }];
                        };
                        vec![VenueEvent::Order(OrderReport {
                            coid: o.client_order_id.clone(),
                            order_id: o.order_id,
                            symbol_id,
                            side,
                            status: rest_status(o.status),
                            executed,
                            orig_qty: orig,
                            reduce_only: o.reduce_only,
                            orig_type: o.orig_type.clone(),
                            ts_ms: o.update_time,
                        })]
                    }
                    Err(e) if e.api_kind() == Some(ApiErrorKind::NotFound) => {
                        vec![VenueEvent::NotFound { coid }]
                    }
                    Err(e) => vec![VenueEvent::Failed {
                        command: "query order",
                        coid: Some(coid),
                        cause: e.to_string(),
                    }],
                }
            }
            Command::QueryAlgo { symbol_id, coid } => {
                match self.client.query_algo_order_by_client_id(&coid).await {
                    Ok(a) => match journal_algo_status(a.algo_status.as_str()) {
                        Some(status) => vec![VenueEvent::Algo(AlgoReport {
                            coid,
                            algo_id: a.algo_id,
                            symbol_id,
                            status,
                            actual_order_id: a.actual_order_id,
                            reason: String::new(),
                        })],
                        None => vec![VenueEvent::Failed {
                            command: "query stop",
                            coid: Some(coid),
                            cause: format!("unknown algo status {:?}", a.algo_status.as_str()),
                        }],
                    },
                    Err(e) if e.api_kind() == Some(ApiErrorKind::NotFound) => {
                        vec![VenueEvent::NotFound { coid }]
                    }
                    Err(e) => vec![VenueEvent::Failed {
                        command: "query stop",
                        coid: Some(coid),
                        cause: e.to_string(),
                    }],
                }
            }
            Command::FetchTrades {
                symbol_id,
                order_id,
                since_ms,
            } => self.fetch_trades(symbol_id, order_id, since_ms).await,
            Command::Snapshot => match snapshot(&self.client, &self.symbols).await {
                Ok(s) => vec![VenueEvent::Snapshot(Box::new(s))],
                Err(r) => vec![VenueEvent::Failed {
                    command: "account snapshot",
                    coid: None,
                    cause: r.to_string(),
                }],
            },
        }
    }

    async fn place(&self, r: &OrderReq) -> VenueEvent {
        let Some(tpl) = self.book.at(r.symbol_id as usize) else {
            return VenueEvent::Rejected {
                coid: r.coid.clone(),
                code: 0,
                msg: format!("unknown symbol id {}", r.symbol_id),
            };
        };
        let req = OrderRequest {
            side: r.side,
            kind: OrderKind::Market,
            qty: r.qty,
            price: shmtrader_core::instrument::Price(0),
            reduce_only: r.reduce_only,
            client_order_id: &r.coid,
            reference_price: None,
        };
        match self.client.new_order(tpl, &req).await {
            Ok(p) => {
                if let Placement::Reconciled { cause, .. } = &p {
                    tracing::warn!(coid = %r.coid, %cause, "order outcome was unknown; settled by query");
                }
                let o = p.order();
                let executed = tpl.rules().parse_qty(&o.executed_qty).unwrap_or(Qty(0));
                VenueEvent::Placed {
                    coid: r.coid.clone(),
                    order_id: o.order_id,
                    status: rest_status(o.status),
                    executed,
                }
            }
            Err(e) if e.api_kind() == Some(ApiErrorKind::Unknown) => VenueEvent::Unsettled {
                coid: r.coid.clone(),
                cause: e.to_string(),
            },
            Err(ExchangeError::ExecutionUnknown { .. }) | Err(ExchangeError::Transport { .. }) => {
                VenueEvent::Unsettled {
                    coid: r.coid.clone(),
                    cause: "transport failure; outcome unknown".into(),
                }
            }
            Err(e) => refused(&r.coid, &e),
        }
    }

    async fn place_algo(&self, r: &AlgoReq) -> VenueEvent {
        let Some(rules) = self.rules(r.symbol_id) else {
            return VenueEvent::AlgoRejected {
                coid: r.coid.clone(),
                code: 0,
                msg: format!("unknown symbol id {}", r.symbol_id),
            };
        };
        let req = AlgoOrderRequest {
            side: r.side,
            algo_type: match r.kind {
                StopKind::Stop => AlgoType::StopMarket,
                StopKind::TakeProfit => AlgoType::TakeProfitMarket,
            },
            trigger_price: r.trigger,
            price: None,
            qty: Some(r.qty),
            close_position: false,
            reduce_only: true,
            working_type: match r.working_type {
                WorkingType::MarkPrice => WireWorking::MarkPrice,
                WorkingType::ContractPrice => WireWorking::ContractPrice,
            },
            price_protect: false,
            client_algo_id: &r.coid,
        };
        match self.client.new_algo_order(rules, &req).await {
            Ok(a) => VenueEvent::AlgoPlaced {
                coid: r.coid.clone(),
                algo_id: a.algo_id,
            },
            Err(e)
                if matches!(e, ExchangeError::Transport { .. })
                    || e.api_kind() == Some(ApiErrorKind::Unknown) =>
            {
                // Placed or not: the stop keeper's acknowledgement timeout decides, and a
                // query settles what the exchange has.
                match self.client.query_algo_order_by_client_id(&r.coid).await {
                    Ok(a) => VenueEvent::AlgoPlaced {
                        coid: r.coid.clone(),
                        algo_id: a.algo_id,
                    },
                    Err(_) => VenueEvent::Failed {
                        command: "place stop",
                        coid: Some(r.coid.clone()),
                        cause: e.to_string(),
                    },
                }
            }
            Err(e) => VenueEvent::AlgoRejected {
                coid: r.coid.clone(),
                code: e.api_code().unwrap_or(0),
                msg: e.to_string(),
            },
        }
    }

    /// The commission in USDT: as is when paid in USDT, else at the asset's mark price
    /// (`<ASSET>USDT`, cached a minute).
    async fn fee_usdt(&mut self, asset: &str, paid: f64) -> f64 {
        if asset.is_empty() || asset == "USDT" || paid == 0.0 {
            return paid;
        }
        let fresh = self
            .fee_px
            .get(asset)
            .filter(|(_, at)| at.elapsed() < Duration::from_secs(60))
            .map(|(p, _)| *p);
        let px = match fresh {
            Some(p) => p,
            None => match self.client.mark_price(&format!("{asset}USDT")).await {
                Ok(m) => {
                    let p = m.mark_price;
                    self.fee_px
                        .insert(asset.to_string(), (p, std::time::Instant::now()));
                    p
                }
                Err(e) => {
                    tracing::warn!(asset, error = %e, "no price to convert a commission to USDT; it is booked at 0");
                    0.0
                }
            },
        };
        paid * px
    }

    async fn fetch_trades(
        &mut self,
        symbol_id: u32,
        order_id: Option<u64>,
        since_ms: Option<u64>,
    ) -> Vec<VenueEvent> {
        let Some(sym) = self.symbols.get(symbol_id as usize).cloned() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut from_id = None;
        // Pages of 1000 trades until a short page.
        for _ in 0..50 {
            let q = UserTradesQuery {
                order_id,
                from_id,
                start_time: if from_id.is_none() { since_ms } else { None },
                end_time: None,
                limit: Some(1000),
            };
            let trades = match self.client.user_trades(&sym, q).await {
                Ok(t) => t,
                Err(e) => {
                    out.push(VenueEvent::Failed {
                        command: "fetch trades",
                        coid: None,
                        cause: e.to_string(),
                    });
                    return out;
                }
            };
            let n = trades.len();
            for t in &trades {
                let (Some(qty), Ok(price)) = (self.qty(symbol_id, &t.qty), t.price.parse::<f64>())
                else {
                    tracing::error!(symbol = %sym, trade = t.id, "a trade from REST has an unreadable quantity or price; skipped");
                    continue;
                };
                let paid = t.commission.parse::<f64>().map(f64::abs).unwrap_or(0.0);
                let fee = self.fee_usdt(&t.commission_asset, paid).await;
                out.push(VenueEvent::Trade(TradeReport {
                    coid: None,
                    order_id: t.order_id,
                    symbol_id,
                    side: t.side,
                    trade_id: t.id,
                    qty,
                    price,
                    fee_usdt: fee,
                    realized_pnl: t.realized_pnl.parse().unwrap_or(0.0),
                    maker: t.maker,
                    ts_ms: t.time,
                    from_rest: true,
                    orig_type: String::new(),
                }));
                from_id = Some(t.id + 1);
            }
            if n < 1000 {
                break;
            }
        }
        out.push(VenueEvent::TradesFetched {
            symbol_id,
            order_id,
        });
        out
    }

    pub(super) async fn reload_rules(&mut self) -> Vec<VenueEvent> {
        let info = match self.client.exchange_info().await {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(error = %e, "exchangeInfo reload failed; the rules in force stay");
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for (i, sym) in self.symbols.iter().enumerate() {
            let Some(s) = info.symbol(sym) else {
                continue;
            };
            let Ok(inst) = shmtrader_exchange::template::instrument_from_info(s) else {
                continue;
            };
            out.push(VenueEvent::Rules {
                symbol_id: i as u32,
                instrument: Box::new(inst),
                trading: s.status == "TRADING",
            });
        }
        out
    }

    pub(super) async fn user_event(&mut self, m: UserStreamMsg) -> Vec<VenueEvent> {
        match m {
            UserStreamMsg::Connected { reconnect } => vec![VenueEvent::Stream {
                up: true,
                reconnect,
                reason: String::new(),
            }],
            UserStreamMsg::Disconnected { reason } => vec![VenueEvent::Stream {
                up: false,
                reconnect: false,
                reason,
            }],
            UserStreamMsg::Event(e) => self.event(e).await,
        }
    }

    async fn event(&mut self, e: UserEvent) -> Vec<VenueEvent> {
        match e {
            UserEvent::OrderTradeUpdate(u) => {
                let o = u.order;
                let Some(sym) = self.symbol_id(&o.symbol) else {
                    return Vec::new();
                };
                let mut out = Vec::new();
                if o.is_fill() {
                    let (Some(qty), Ok(price)) =
                        (self.qty(sym, &o.last_qty), o.last_price.parse::<f64>())
                    else {
                        tracing::error!(symbol = %o.symbol, order = o.order_id, "a fill event has an unreadable quantity or price; REST will settle the order");
                        return Vec::new();
                    };
                    let fee = match o.fee() {
                        Ok(Some(f)) => self.fee_usdt(&f.asset, f.paid).await,
                        Ok(None) => 0.0,
                        Err(err) => {
                            tracing::error!(error = %err, "unreadable commission; REST will settle the order");
                            return Vec::new();
                        }
                    };
                    out.push(VenueEvent::Trade(TradeReport {
                        coid: Some(o.client_order_id.clone()),
                        order_id: o.order_id,
                        symbol_id: sym,
                        side: o.side,
                        trade_id: o.trade_id,
                        qty,
                        price,
                        fee_usdt: fee,
                        realized_pnl: o.realized_profit().unwrap_or(0.0),
                        maker: o.is_maker,
                        ts_ms: o.trade_time,
                        from_rest: false,
                        orig_type: if o.is_liquidation() {
                            "LIQUIDATION".into()
                        } else {
                            o.orig_type.as_str().to_string()
                        },
                    }));
                }
                out.push(VenueEvent::Order(OrderReport {
                    coid: o.client_order_id.clone(),
                    order_id: o.order_id,
                    symbol_id: sym,
                    side: o.side,
                    status: rest_status(o.status),
                    executed: self.qty(sym, &o.cum_qty).unwrap_or(Qty(0)),
                    orig_qty: self.qty(sym, &o.orig_qty).unwrap_or(Qty(0)),
                    reduce_only: o.reduce_only,
                    orig_type: o.orig_type.as_str().to_string(),
                    ts_ms: o.trade_time,
                }));
                out
            }
            UserEvent::AccountUpdate(u) => {
                let reason = match u.data.reason.as_str() {
                    "ORDER" => BalanceReason::Order,
                    "FUNDING_FEE" => BalanceReason::Funding,
                    _ => BalanceReason::Other,
                };
                u.data
                    .balances
                    .iter()
                    .filter(|b| b.asset == "USDT")
                    .filter_map(|b| b.wallet_balance.parse::<f64>().ok())
                    .map(|wallet| VenueEvent::Balance { wallet, reason })
                    .collect()
            }
            UserEvent::AlgoUpdate(u) => {
                let a = u.algo;
                let Some(sym) = self.symbol_id(&a.symbol) else {
                    return Vec::new();
                };
                match journal_algo_status(a.status.as_str()) {
                    Some(status) => vec![VenueEvent::Algo(AlgoReport {
                        coid: a.client_algo_id,
                        algo_id: a.algo_id,
                        symbol_id: sym,
                        status,
                        actual_order_id: a.actual_order_id,
                        reason: a.reason.unwrap_or_default(),
                    })],
                    None => {
                        tracing::warn!(
                            status = a.status.as_str(),
                            "unknown algo status; the stop is queried"
                        );
                        vec![]
                    }
                }
            }
            _ => Vec::new(),
        }
    }
}
