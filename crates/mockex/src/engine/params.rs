//! Request parameters: merged query and form values, and the exact Binance refusals of a
//! malformed or out-of-filter value (-1102, -1111, -4003/-4004/-4005, -4014, -4023, ...).

use std::collections::HashMap;

use crate::api_error::ApiError;
use crate::spec::{parse_request_units, DecimalError, SymbolSpec};

use super::{Side, Tif};

/// Request parameters after merging query string and form body.
pub type Params = HashMap<String, String>;

/// A non-empty parameter.
pub(super) fn param<'a>(p: &'a Params, k: &str) -> Option<&'a str> {
    p.get(k).map(String::as_str).filter(|s| !s.is_empty())
}

/// `BUY` / `SELL` (-1102 missing, -1117 anything else).
pub(super) fn side(p: &Params) -> Result<Side, ApiError> {
    match param(p, "side") {
        None => Err(ApiError::mandatory("side")),
        Some("BUY") => Ok(Side::Buy),
        Some("SELL") => Ok(Side::Sell),
        Some(_) => Err(ApiError::new(-1117, "Invalid side.")),
    }
}

/// `timeInForce`; `None` when absent. GTD is refused: the mock has no expiry clock.
pub(super) fn tif(p: &Params) -> Result<Option<Tif>, ApiError> {
    match param(p, "timeInForce") {
        None => Ok(None),
        Some("GTC") => Ok(Some(Tif::Gtc)),
        Some("IOC") => Ok(Some(Tif::Ioc)),
        Some("FOK") => Ok(Some(Tif::Fok)),
        Some("GTX") => Ok(Some(Tif::Gtx)),
        Some(_) => Err(ApiError::new(-1115, "Invalid timeInForce.")),
    }
}

/// One-way mode only: `BOTH` or absent (-4061 for LONG/SHORT).
pub(super) fn position_side(p: &Params) -> Result<(), ApiError> {
    match param(p, "positionSide") {
        None | Some("BOTH") => Ok(()),
        Some("LONG" | "SHORT") => Err(ApiError::new(
            -4061,
            "Order's position side does not match user's setting.",
        )),
        Some(_) => Err(ApiError::invalid_param("positionSide")),
    }
}

/// A quantity on the symbol's LOT_SIZE (or MARKET_LOT_SIZE) grid, in units.
pub(super) fn qty(spec: &SymbolSpec, s: Option<&str>, market: bool) -> Result<i64, ApiError> {
    let s = s.ok_or_else(|| ApiError::mandatory("quantity"))?;
    let q = parse_request_units(s, spec.qty_dp).map_err(|e| match e {
        DecimalError::Precision => ApiError::precision(),
        DecimalError::Malformed => ApiError::mandatory("quantity"),
    })?;
    if q <= 0 {
        return Err(ApiError::new(-4003, "Quantity less than or equal to zero."));
    }
    if q < spec.min_qty {
        return Err(ApiError::new(-4004, "Quantity less than min qty."));
    }
    let max = if market {
        spec.market_max_qty
    } else {
        spec.max_qty
    };
    if q > max {
        return Err(ApiError::new(-4005, "Quantity greater than max qty."));
    }
    if (q - spec.min_qty) % spec.step != 0 {
        return Err(ApiError::new(-4023, "Qty not increased by step size."));
    }
    Ok(q)
}

/// A price on the symbol's PRICE_FILTER grid, in units.
pub(super) fn price(spec: &SymbolSpec, s: Option<&str>, name: &str) -> Result<i64, ApiError> {
    let s = s.ok_or_else(|| ApiError::mandatory(name))?;
    let p = parse_request_units(s, spec.price_dp).map_err(|e| match e {
        DecimalError::Precision => ApiError::precision(),
        DecimalError::Malformed => ApiError::mandatory(name),
    })?;
    if p <= 0 {
        return Err(ApiError::new(-4001, "Price less than 0."));
    }
    if p < spec.tick {
        return Err(ApiError::new(-4013, "Price less than min price."));
    }
    if p > 100_000_000 * 10_i64.pow(spec.price_dp) {
        return Err(ApiError::new(-4002, "Price greater than max price."));
    }
    if (p - spec.tick) % spec.tick != 0 {
        return Err(ApiError::new(-4014, "Price not increased by tick size."));
    }
    Ok(p)
}

/// `"true"` / `"false"` (any case); absent is false.
pub(super) fn boolean(p: &Params, k: &str) -> Result<bool, ApiError> {
    match param(p, k) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(ApiError::invalid_param(k)),
    }
}

/// The format rule of client ids: `^[\.A-Z\:/a-z0-9_-]{1,36}$` (-4015 too long, -1100
/// illegal characters). Uniqueness is the caller's check (it depends on what is open).
pub(super) fn client_id_format(id: &str, name: &str) -> Result<(), ApiError> {
    if id.len() > 36 {
        return Err(ApiError::new(-4015, "Client order id is not valid."));
    }
    let legal = !id.is_empty()
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b':' | b'/' | b'_' | b'-'));
    if !legal {
        return Err(ApiError::new(
            -1100,
            format!("Illegal characters found in parameter '{name}'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{{1,36}}$'."),
        ));
    }
    Ok(())
}

/// An optional unsigned integer parameter (-1102 when it does not parse).
pub(super) fn opt_u64(p: &Params, k: &str) -> Result<Option<u64>, ApiError> {
    match param(p, k) {
        None => Ok(None),
        Some(v) => v
            .parse::<u64>()
            .map(Some)
            .map_err(|_| ApiError::mandatory(k)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::find_spec;

    fn ps(kv: &[(&str, &str)]) -> Params {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn quantity_refusals_carry_binance_codes() {
        let btc = find_spec("BTCUSDT").expect("listed");
        // (text, market, expected code or the units)
        let cases: [(&str, bool, Result<i64, i64>); 8] = [
            ("0.002", true, Ok(2)),
            ("abc", true, Err(-1102)),
            ("0.0001", true, Err(-1111)),
            ("-0.002", true, Err(-4003)),
            ("0", true, Err(-4003)),
            ("1000", false, Ok(1_000_000)),
            ("1000.001", false, Err(-4005)),
            ("200", true, Err(-4005)), // above MARKET_LOT_SIZE maxQty
        ];
        for (text, market, want) in cases {
            let got = qty(&btc, Some(text), market).map_err(|e| e.code);
            assert_eq!(got, want, "{text} market={market}");
        }
        assert_eq!(qty(&btc, None, true).map_err(|e| e.code), Err(-1102));
        let link = find_spec("LINKUSDT").expect("listed");
        assert_eq!(
            qty(&link, Some("1.05"), true).map_err(|e| e.code),
            Err(-4023)
        );
    }

    #[test]
    fn price_refusals_carry_binance_codes() {
        let btc = find_spec("BTCUSDT").expect("listed");
        let cases: [(&str, Result<i64, i64>); 5] = [
            ("60000.10", Ok(6_000_010)),
            ("60000.05", Err(-4014)),
            ("60000.123", Err(-1111)),
            ("0", Err(-4001)),
            ("x", Err(-1102)),
        ];
        for (text, want) in cases {
            assert_eq!(
                price(&btc, Some(text), "price").map_err(|e| e.code),
                want,
                "{text}"
            );
        }
    }

    #[test]
    fn client_id_format_refuses_long_and_illegal_ids() {
        assert!(client_id_format("abc-1_2.3:4/5", "newClientOrderId").is_ok());
        assert_eq!(
            client_id_format(&"a".repeat(37), "newClientOrderId").map_err(|e| e.code),
            Err(-4015)
        );
        let e = client_id_format("a b", "clientAlgoId").map_err(|e| (e.code, e.msg));
        assert!(
            matches!(e, Err((-1100, ref m)) if m.contains("'clientAlgoId'")),
            "{e:?}"
        );
    }

    #[test]
    fn side_tif_bool_and_position_side() {
        assert_eq!(side(&ps(&[("side", "SELL")])), Ok(Side::Sell));
        assert_eq!(
            side(&ps(&[("side", "HOLD")])).map_err(|e| e.code),
            Err(-1117)
        );
        assert_eq!(side(&ps(&[])).map_err(|e| e.code), Err(-1102));
        assert_eq!(tif(&ps(&[("timeInForce", "GTX")])), Ok(Some(Tif::Gtx)));
        assert_eq!(
            tif(&ps(&[("timeInForce", "GTD")])).map_err(|e| e.code),
            Err(-1115)
        );
        assert_eq!(
            boolean(&ps(&[("reduceOnly", "TRUE")]), "reduceOnly"),
            Ok(true)
        );
        assert_eq!(
            boolean(&ps(&[("reduceOnly", "yes")]), "reduceOnly").map_err(|e| e.code),
            Err(-1130)
        );
        assert_eq!(
            position_side(&ps(&[("positionSide", "LONG")])).map_err(|e| e.code),
            Err(-4061)
        );
        assert_eq!(
            opt_u64(&ps(&[("limit", "x")]), "limit").map_err(|e| e.code),
            Err(-1102)
        );
    }
}
