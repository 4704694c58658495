#!/usr/bin/env python3
"""Writes TA-Lib reference values for the indicator tests.

usage: talib_reference.py <data_dir> <out_dir>

For a set of real kline files under <data_dir> (shared/data) it computes, with TA-Lib's C
library (the `ta-lib` wheel), exactly the columns `shmtrader indicators` prints, with the
default periods (EMA 10/21, RSI 14, MACD 12/26/9, Bollinger 20/2, ATR 14), and writes
<out_dir>/<name>.csv plus <out_dir>/manifest.tsv (`<name>.csv<TAB><kline file>`).
The Rust test crates/indicators/tests/talib.rs compares against these files.
Values are written in Python's shortest round-trip form (repr), cells empty where
TA-Lib has no value yet. Nothing here is committed; test.sh regenerates it.
"""
import csv
import gzip
import math
import os
import sys

import numpy as np
import talib

HEADER = ("open_time_ms,close,ema_fast,ema_slow,rsi,macd,macd_signal,macd_hist,"
          "bb_upper,bb_middle,bb_lower,bb_pct_b,atr")

# Chosen to cover prices from ~3e-5 (ADABTC) to ~1e5 (BTC), and both kline layouts.
FILES = [
    "typhonun_DcaTpStrategy/futures/BTC_USDT_USDT-1m-futures.csv.gz",
    "typhonun_DcaTpStrategy/futures/ETH_USDT_USDT-1m-futures.csv.gz",
    "typhonun_DcaTpStrategy/futures/ADA_USDT_USDT-1m-futures.csv.gz",
    "TheSnowGuru_Market-Swarm-Agents-/futures/BTC_USDT_USDT-1m-futures.csv.gz",
    "nautechsystems_nautilus_trader/test_kit/ADABTC-1m-2021-11-27.csv",
]


def read_klines(path):
    opener = gzip.open if path.endswith(".gz") else open
    rows = []
    with opener(path, "rt") as f:
        for i, row in enumerate(csv.reader(f)):
            if i == 0 and not row[0].strip().lstrip("-").isdigit():
                continue
            t = int(row[0])
            if t > 100_000_000_000_000:
                t //= 1000
            rows.append((t, *map(float, row[1:6])))
    return rows


def cell(v):
    return "" if v is None or math.isnan(v) else repr(float(v))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    data, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    manifest = []
    for rel in FILES:
        src = os.path.join(data, rel)
        if not os.path.exists(src):
            print(f"talib_reference: {src} missing, skipped", file=sys.stderr)
            continue
        k = read_klines(src)
        t = np.array([r[0] for r in k])
        h = np.array([r[2] for r in k])
        lo = np.array([r[3] for r in k])
        c = np.array([r[4] for r in k])
        ema_f = talib.EMA(c, 10)
        ema_s = talib.EMA(c, 21)
        rsi = talib.RSI(c, 14)
        macd, sig, hist = talib.MACD(c, 12, 26, 9)
        up, mid, low = talib.BBANDS(c, 20, 2.0, 2.0, talib.MA_Type.SMA)
        atr = talib.ATR(h, lo, c, 14)
        name = rel.replace("/", "__").replace(".csv.gz", "").replace(".csv", "") + ".csv"
        with open(os.path.join(out, name), "w") as f:
            f.write(HEADER + "\n")
            for i in range(len(k)):
                if math.isnan(up[i]):
                    pb = None
                else:
                    w = up[i] - low[i]
                    pb = (c[i] - low[i]) / w if w > 0 else 0.5
                f.write(",".join([str(int(t[i])), repr(float(c[i]))] + [cell(v) for v in (
                    ema_f[i], ema_s[i], rsi[i], macd[i], sig[i], hist[i],
                    up[i], mid[i], low[i], pb, atr[i])]) + "\n")
        manifest.append(f"{name}\t{os.path.abspath(src)}")
        print(f"talib_reference: {name}: {len(k)} rows", file=sys.stderr)
    with open(os.path.join(out, "manifest.tsv"), "w") as f:
        f.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
