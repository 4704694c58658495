"""ccxt (a widely used third-party Binance client), unmodified, against the mock exchange.

Only the base URLs are pointed at the mock (as one does for a testnet). Exits non-zero on
any failed check. Usage: python3 ccxt_against_mock.py http://127.0.0.1:PORT
"""
import sys

import ccxt

base = sys.argv[1]
ex = ccxt.binanceusdm({
    "apiKey": "paper-key",
    "secret": "paper-secret",
    "enableRateLimit": False,
    # fetchCurrencies is a spot (sapi) endpoint the futures mock does not serve.
    "options": {"fetchCurrencies": False, "adjustForTimeDifference": True},
})
for k, v in list(ex.urls["api"].items()):
    if isinstance(v, str) and v.startswith("https://fapi.binance.com"):
        ex.urls["api"][k] = v.replace("https://fapi.binance.com", base)

markets = ex.load_markets()
assert "BTC/USDT:USDT" in markets, list(markets)
btc = markets["BTC/USDT:USDT"]
assert btc["precision"]["price"] and btc["limits"]["amount"]["min"], btc["precision"]

bal = ex.fetch_balance()
assert bal["USDT"]["total"] > 0, bal["USDT"]
assert ex.fetch_positions() == [] or all(p["contracts"] == 0 for p in ex.fetch_positions())

book = ex.fetch_order_book("BTC/USDT:USDT", 5)
bid = book["bids"][0][0]
limit = ex.create_order("BTC/USDT:USDT", "limit", "buy", 0.002, round(bid * 0.95, 1))
assert limit["status"] == "open", limit
fetched = ex.fetch_order(limit["id"], "BTC/USDT:USDT")
assert fetched["id"] == limit["id"] and fetched["status"] == "open", fetched
assert any(o["id"] == limit["id"] for o in ex.fetch_open_orders("BTC/USDT:USDT"))
canceled = ex.cancel_order(limit["id"], "BTC/USDT:USDT")
assert canceled["status"] == "canceled", canceled

market = ex.create_order("ETH/USDT:USDT", "market", "buy", 0.05)
assert market["status"] == "closed", market
pos = [p for p in ex.fetch_positions() if p["contracts"]]
assert len(pos) == 1 and pos[0]["symbol"] == "ETH/USDT:USDT" and pos[0]["side"] == "long", pos
close = ex.create_order("ETH/USDT:USDT", "market", "sell", 0.05, params={"reduceOnly": True})
assert close["status"] == "closed", close
assert all(p["contracts"] == 0 for p in ex.fetch_positions())

# Binance's own validation reaches the client as Binance's error: BTCUSDT's minimum
# notional is 100 USDT.
try:
    ex.create_order("BTC/USDT:USDT", "limit", "buy", 0.001, round(bid * 0.95, 1))
    raise SystemExit("an order below the minimum notional was accepted")
except ccxt.ExchangeError as e:
    assert "-4164" in str(e), e

print("ccxt against the mock: markets, balance, positions, place/query/cancel, market fills: OK")
