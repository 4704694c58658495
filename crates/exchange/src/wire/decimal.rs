//! Decimal strings to numbers, with an error (never a silent 0) when the text is not a
//! number.
//!
//! The wire types keep Binance's decimal strings as text (see [`crate::wire`]); the
//! accessor methods on them (`OrderUpdate::fill_qty`, `Account::total_wallet`, ...) go
//! through [`parse_decimal`], which names the message and the wire key in its error so a
//! bad value can be traced to the exact field. Exact integer units (prices on the tick
//! grid, quantities on the step grid) come from the symbol rules instead
//! (`Instrument::parse_qty` / `parse_price`), which read the same strings.

use crate::error::{ExchangeError, Result};

/// Parses a Binance decimal string (`"-0.07819010"`, `"64050.25"`) into a finite `f64`.
///
/// # Errors
/// [`ExchangeError::BadNumber`] naming `what` and `field` when `text` is empty, not a
/// number, or not finite (`"NaN"`, `"inf"`).
pub fn parse_decimal(what: &'static str, field: &'static str, text: &str) -> Result<f64> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(ExchangeError::BadNumber {
            what,
            field,
            text: text.chars().take(64).collect(),
        }),
    }
}

/// Like [`parse_decimal`], but an empty string (a field the message left out) is `None`.
///
/// # Errors
/// As [`parse_decimal`] for a non-empty text that is not a finite number.
pub fn parse_optional_decimal(
    what: &'static str,
    field: &'static str,
    text: &str,
) -> Result<Option<f64>> {
    if text.is_empty() {
        Ok(None)
    } else {
        parse_decimal(what, field, text).map(Some)
    }
}

/// A trading fee, derived from `n`/`N` (ORDER_TRADE_UPDATE) or `commission` /
/// `commissionAsset` (userTrades); not a wire message itself. Normalised: `paid` is what the account paid, **positive**, in `asset`
/// (USDT, or BNB with the BNB fee discount on: convert with the mark price of `BNBUSDT`).
///
/// Sign convention: Binance's `ORDER_TRADE_UPDATE` sends the commission `n` as a positive
/// number, while the documented `GET /fapi/v1/userTrades` example shows `"commission":
/// "-0.07819010"` for a fee that was paid. Because the two sources disagree, the fee is
/// normalised to its absolute value. A maker *rebate* (a negative fee on some VIP / market
/// maker tiers) is therefore also reported as paid; the raw text stays on the message for
/// the rare account that earns rebates.
#[derive(Debug, Clone, PartialEq)]
pub struct Fee {
    /// Commission asset (`USDT`, `BNB`, ...).
    pub asset: String,
    /// Amount paid, ≥ 0.
    pub paid: f64,
}

/// Implements `pub fn $method(&self) -> Result<f64>` accessors over decimal-string fields.
macro_rules! decimal_accessors {
    ($ty:ty, $what:literal { $( $(#[$m:meta])* $method:ident => $field:ident, $wire:literal; )+ }) => {
        impl $ty {
            $(
                $(#[$m])*
                ///
                /// # Errors
                /// [`crate::ExchangeError::BadNumber`] if the text is not a finite number.
                pub fn $method(&self) -> $crate::error::Result<f64> {
                    $crate::wire::decimal::parse_decimal($what, $wire, &self.$field)
                }
            )+
        }
    };
}
pub(crate) use decimal_accessors;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_and_garbage_is_an_error_naming_the_field_never_zero() {
        struct Case {
            text: &'static str,
            expected: Option<f64>,
        }
        let cases = [
            // Ordinary values, signs, trailing zeros.
            Case {
                text: "64050.25000",
                expected: Some(64_050.25),
            },
            Case {
                text: "-0.07819010",
                expected: Some(-0.0781901),
            },
            Case {
                text: "0",
                expected: Some(0.0),
            },
            // Empty, words, non-finite, trailing junk: all errors.
            Case {
                text: "",
                expected: None,
            },
            Case {
                text: "abc",
                expected: None,
            },
            Case {
                text: "NaN",
                expected: None,
            },
            Case {
                text: "inf",
                expected: None,
            },
            Case {
                text: "1.2.3",
                expected: None,
            },
            Case {
                text: " 1",
                expected: None,
            },
        ];
        for c in cases {
            match (parse_decimal("test", "x", c.text), c.expected) {
                (Ok(v), Some(e)) => assert_eq!(v, e, "{:?}", c.text),
                (Err(ExchangeError::BadNumber { what, field, text }), None) => {
                    assert_eq!((what, field, text.as_str()), ("test", "x", c.text));
                }
                (other, e) => panic!("{:?}: got {other:?}, expected {e:?}", c.text),
            }
        }
        assert_eq!(parse_optional_decimal("t", "x", "").unwrap(), None);
        assert_eq!(parse_optional_decimal("t", "x", "1.5").unwrap(), Some(1.5));
        assert!(parse_optional_decimal("t", "x", "x").is_err());
    }
}
