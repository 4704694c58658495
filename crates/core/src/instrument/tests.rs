#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::catalog::{instrument_or_generic, listing, LISTINGS};
use super::*;

fn btc() -> Instrument {
    Instrument::from_decimals(
        "BTCUSDT",
        &DecimalFilters {
            tick_size: "0.10",
            min_price: "0.10",
            max_price: "1000000",
            step_size: "0.001",
            min_qty: "0.001",
            max_qty: "1000",
            market_step_size: "0.001",
            market_min_qty: "0.001",
            market_max_qty: "120",
            min_notional: "100",
        },
    )
    .unwrap()
}

#[test]
fn decimal_filters_become_integer_units() {
    let r = btc();
    assert_eq!((r.price_dp, r.tick, r.min_price), (1, 1, 1));
    assert_eq!((r.qty_dp, r.lot.step, r.lot.min), (3, 1, 1));
    assert_eq!(r.market_lot.max, 120_000);
    assert_eq!(r.min_notional, 100 * 10_000);
    assert_eq!(r.min_notional_f64(), 100.0);
    assert_eq!(r.step_f64(), 0.001);
    assert_eq!(r.min_qty_steps(), 1);
}

#[test]
fn no_binary_float_noise_on_the_wire() {
    let r = btc();
    let q = r.qty_from_f64(0.1 + 0.2, Rounding::Down, true).unwrap();
    assert_eq!(r.fmt_qty(q), "0.300");
    let p = r
        .price_from_f64(64_050.07, Side::Buy, PriceRounding::Passive)
        .unwrap();
    assert_eq!(r.fmt_price(p), "64050.0");
    let p = r
        .price_from_f64(64_050.07, Side::Sell, PriceRounding::Passive)
        .unwrap();
    assert_eq!(r.fmt_price(p), "64050.1");
}

#[test]
fn steps_round_with_a_guard_against_float_division() {
    let r = Instrument::from_decimals(
        "X",
        &DecimalFilters {
            tick_size: "0.01",
            min_price: "0",
            max_price: "0",
            step_size: "0.1",
            min_qty: "0.1",
            max_qty: "0",
            min_notional: "5",
            ..DecimalFilters::default()
        },
    )
    .unwrap();
    // 0.3 / 0.1 = 2.9999999999999996 in f64: still three steps.
    assert_eq!(r.floor_steps(0.3), 3);
    assert_eq!(r.floor_steps(0.1 + 0.2), 3);
    assert_eq!(r.fmt_qty(r.steps_to_qty(3)), "0.3");
    assert_eq!(r.ceil_steps(0.31), 4);
    assert_eq!(r.floor_steps(-1.0), 0);
    assert_eq!(r.floor_steps(f64::NAN), 0);
}

#[test]
fn an_off_grid_exchange_quantity_is_refused_not_rounded() {
    let r = btc();
    assert_eq!(r.exact_steps(0.012).unwrap(), 12);
    for bad in [0.0125, 0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(
            matches!(r.exact_steps(bad), Err(CoreError::OffStep { .. })),
            "{bad}"
        );
    }
    assert_eq!(r.qty_steps(Qty(12)), Some(12));
}

#[test]
fn filters_are_checked_as_the_exchange_checks_them() {
    let r = btc();
    let px = Price(640_000); // 64000.0
    assert!(r.check(Qty(2), None, Some(px), false).is_ok()); // 128 USDT
    let e = r.check(Qty(1), None, Some(px), false).unwrap_err();
    assert!(e.to_string().contains("MIN_NOTIONAL"), "{e}");
    assert!(
        r.check(Qty(1), None, Some(px), true).is_ok(),
        "reduce-only is exempt"
    );
    let e = r.check(Qty(120_001), None, None, true).unwrap_err();
    assert!(e.to_string().contains("MARKET_LOT_SIZE"), "{e}");
    assert!(r.check_price(Price(0)).is_err());
    assert_eq!(r.min_qty_at(px, true), Qty(2));
}

#[test]
fn unusable_filters_name_the_field() {
    let zero_tick = DecimalFilters {
        tick_size: "0",
        step_size: "0.001",
        min_qty: "0.001",
        min_price: "0",
        max_price: "0",
        max_qty: "0",
        ..DecimalFilters::default()
    };
    let e = Instrument::from_decimals("X", &zero_tick).unwrap_err();
    assert!(e.to_string().contains("tickSize"), "{e}");
    let bad_step = DecimalFilters {
        tick_size: "0.1",
        step_size: "abc",
        ..zero_tick
    };
    let e = Instrument::from_decimals("X", &bad_step).unwrap_err();
    assert!(e.to_string().contains("LOT_SIZE"), "{e}");
}

#[test]
fn exact_parsing_refuses_surplus_precision() {
    let r = btc();
    assert_eq!(r.parse_qty("0.0010").unwrap(), Qty(1));
    assert!(r.parse_qty("0.0001").is_err());
    assert!(r.parse_price("1.23").is_err());
    assert_eq!(fmt_units(-1500, 3), "-1.500");
    assert_eq!(fmt_units(7, 0), "7");
    assert_eq!(decimals("0.10"), 1);
}

#[test]
fn the_catalog_round_trips_through_decimal_filters() {
    // The mock prints these listings in exchangeInfo and clients parse them back: the
    // rules a client builds must equal the catalog's own.
    for l in &LISTINGS {
        let inst = l.instrument();
        let tick = fmt_units(l.tick, l.price_dp);
        let max_price = fmt_units(l.max_price(), l.price_dp);
        let step = fmt_units(l.step, l.qty_dp);
        let min_qty = fmt_units(l.min_qty, l.qty_dp);
        let max_qty = fmt_units(l.max_qty, l.qty_dp);
        let mmax = fmt_units(l.market_max_qty, l.qty_dp);
        let notional = l.min_notional_usdt.to_string();
        let parsed = Instrument::from_decimals(
            l.symbol,
            &DecimalFilters {
                tick_size: &tick,
                min_price: &tick,
                max_price: &max_price,
                step_size: &step,
                min_qty: &min_qty,
                max_qty: &max_qty,
                market_step_size: &step,
                market_min_qty: &min_qty,
                market_max_qty: &mmax,
                min_notional: &notional,
            },
        )
        .unwrap();
        assert_eq!(parsed, inst, "{}", l.symbol);
    }
    assert_eq!(listing("btcusdt").map(|l| l.min_notional_usdt), Some(100));
    assert_eq!(instrument_or_generic("FOOUSDT").min_notional_f64(), 5.0);
    assert_eq!(instrument_or_generic("FOOUSDT").step_f64(), 0.001);
}

#[test]
fn units_parse_and_print_exactly() {
    assert_eq!(decimals("0.001"), 3);
    assert_eq!(decimals("1000"), 0);
    assert_eq!(decimals("1.00000000"), 0);
    assert_eq!(parse_units("64000.15", 1, Rounding::Down), Some(640_001));
    assert_eq!(parse_units("64000.15", 1, Rounding::Up), Some(640_002));
    assert_eq!(parse_units("64000.15", 1, Rounding::Nearest), Some(640_002));
    assert_eq!(parse_units("64000.14", 1, Rounding::Nearest), Some(640_001));
    assert_eq!(parse_units("5", 5, Rounding::Up), Some(500_000));
    assert_eq!(parse_units(".5", 1, Rounding::Up), Some(5));
    for bad in ["", ".", "-1", "1e5", "1.2.3", "abc", "99999999999999999999"] {
        assert_eq!(parse_units(bad, 2, Rounding::Down), None, "{bad}");
    }
    assert_eq!(fmt_units(300, 3), "0.300");
    assert_eq!(fmt_units(0, 2), "0.00");
    assert_eq!(fmt_units(i64::MAX, 0), i64::MAX.to_string());
}

#[test]
fn a_coarse_grid_rounds_toward_the_asked_side() {
    let tick5 = Instrument::from_decimals(
        "XUSDT",
        &DecimalFilters {
            tick_size: "0.05",
            min_price: "0.05",
            max_price: "0",
            step_size: "0.5",
            min_qty: "0.5",
            max_qty: "0",
            ..DecimalFilters::default()
        },
    )
    .unwrap();
    let p = |x, side, r| tick5.fmt_price(tick5.price_from_f64(x, side, r).unwrap());
    assert_eq!(p(10.07, Side::Buy, PriceRounding::Passive), "10.05");
    assert_eq!(p(10.07, Side::Buy, PriceRounding::Aggressive), "10.10");
    assert_eq!(p(10.07, Side::Sell, PriceRounding::Passive), "10.10");
    assert_eq!(p(10.07, Side::Sell, PriceRounding::Aggressive), "10.05");
    assert_eq!(p(10.08, Side::Sell, PriceRounding::Nearest), "10.10");
    // exactly on the grid: no direction moves it
    assert_eq!(p(10.1, Side::Buy, PriceRounding::Aggressive), "10.10");
    assert_eq!(p(0.1 + 0.2, Side::Buy, PriceRounding::Aggressive), "0.30");
    let q = tick5.qty_from_f64(1.7, Rounding::Down, false).unwrap();
    assert_eq!(tick5.fmt_qty(q), "1.5");
    // maxPrice / maxQty "0" = no limit
    assert!(tick5
        .check(Qty(1_000_000), Some(Price(1_000_000_000)), None, false)
        .is_ok());
    let q = btc().qty_from_f64(0.0021, Rounding::Up, false).unwrap();
    assert_eq!(btc().fmt_qty(q), "0.003");
    assert!(btc().round_qty_down(f64::NAN).is_err());
    assert!(btc().round_qty_down(-1.0).is_err());
}

#[test]
fn filter_errors_name_the_filter_and_the_values() {
    let r = btc();
    let px = r.parse_price("64000.1").unwrap();
    let e = r.check(Qty(1), Some(px), None, false).unwrap_err();
    assert!(
        matches!(
            e,
            CoreError::Filter {
                filter: "MIN_NOTIONAL",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("min notional 100"), "{e}");
    // min notional at exactly the limit passes
    let p100k = r.parse_price("100000").unwrap();
    r.check(Qty(1), Some(p100k), None, false).unwrap();
    let e = r.check(Qty(200_000), None, Some(px), false).unwrap_err();
    assert!(e.to_string().contains("above max qty 120.000"), "{e}");
    // a market order without a reference price leaves the notional to the exchange
    r.check(Qty(1), None, None, false).unwrap();
    let min5 = Instrument {
        lot: LotRule {
            min: 5,
            max: 0,
            step: 1,
        },
        ..Instrument::from_decimals(
            "LINKUSDT",
            &DecimalFilters {
                tick_size: "0.001",
                min_price: "0.001",
                max_price: "100000",
                step_size: "0.10",
                min_qty: "0.10",
                max_qty: "200000",
                min_notional: "5",
                ..DecimalFilters::default()
            },
        )
        .unwrap()
    };
    let e = min5
        .check(Qty(3), Some(Price(10_000)), None, true)
        .unwrap_err();
    assert!(e.to_string().contains("below min qty 0.5"), "{e}");
    assert_eq!(r.fmt_qty(r.min_qty_at(px, false)), "0.002");
}
