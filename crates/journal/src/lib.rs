//! The executor's append-only order/fill journal.
//!
//! Every order intent is appended and fsynced ([`Journal::append_durable`]) *before* the
//! order is sent; sends, acks, fills, rejections, cancels and the status changes of
//! exchange-held conditional (algo) orders follow, as do executions of orders this
//! instance did not place (liquidations, ADL, manual trades), the launches and the risk
//! state that must outlive a launch. After a crash, [`Journal::open`] replays the file,
//! repairs a torn tail, and hands back [`JournalState`]: every order by client order id
//! with its lifecycle state, so the executor can reconcile the in-flight ones and the
//! resting stops with the exchange. Client order ids are deterministic within a launch
//! ([`client_order_id`], [`next_launch`]), so a restarted executor regenerates the same id
//! for the same signal and the journal (and the exchange) refuse a second send.
//!
//! The record types are in [`records`](mod@records); their on-disk format is specified in
//! [`format`](mod@format); durability and recovery rules in [`journal`](mod@journal);
//! launches in [`launch`](mod@launch).

pub mod coid;
pub mod error;
pub mod format;
pub mod journal;
pub mod launch;
pub mod records;
pub mod state;

pub use coid::{
    client_order_id, instance_tag, is_algo_leg, is_exit_leg, is_valid_client_order_id,
    parse_client_order_id, ClientOrderIdParts, ENTRY_LEG, FIRST_ALGO_LEG, MAX_CLIENT_ORDER_ID_LEN,
};
pub use error::{JournalError, Result};
pub use format::{MIN_VERSION, VERSION};
pub use journal::{read_journal, scan_bytes, Journal, Recovery, Scan};
pub use launch::{launch_floor, next_launch};
pub use records::{
    AlgoStatus, ExternalFill, ExternalKind, Fill, Intent, OrderStatus, OrderType, Record,
    Resolution, RiskState, WorkingType,
};
pub use rust_decimal::Decimal;
pub use state::{JournalState, OrderEntry, OrderState};

#[cfg(test)]
mod tests;
