#!/usr/bin/python3
"""Peer figures for the data bench, same file, same machine: pandas/scipy doing the equivalent stages.
usage: peer_data.py [/tmp/synth_1m.csv]"""
import hashlib, sys, time
import numpy as np, pandas as pd
from scipy import stats

path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/synth_1m.csv"
raw = open(path, "rb").read()
mb = len(raw) / 1e6
rows = []
def stage(name, fn, n=None):
    t = time.perf_counter(); c = time.process_time(); out = fn(); rows.append((name, time.perf_counter() - t, time.process_time() - c, n)); return out

stage("SHA-256 (hashlib)", lambda: hashlib.sha256(raw).hexdigest())
df = stage("pandas.read_csv", lambda: pd.read_csv(path), 1_000_000)
n = len(df)
def profile():
    d = df.describe(percentiles=[.01, .05, .25, .5, .75, .95, .99])
    u = df.nunique(); m = df.isna().mean(); h = [np.histogram(df[c].dropna(), bins=20) for c in df.columns]
    dup = df.duplicated().mean(); lab = df["target"].value_counts(normalize=True)
    return d, u, m, h, dup, lab
stage("pandas profile (describe+quantiles, nunique, missing, 20-bin hist, duplicated, label counts)", profile, n)
df2 = pd.read_csv(path)
def drift():
    out = {}
    for c in df.columns:
        a, b = df[c].to_numpy(), df2[c].to_numpy()
        out[c] = stats.wasserstein_distance(a, b) / max(np.std(a), 1e-3)
    return out
stage("scipy normalised Wasserstein, 29 columns", drift, n)
print("| peer stage | wall s | CPU s | MB/s | rows/s |")
print("|---|---:|---:|---:|---:|")
for name, w, c, k in rows:
    print(f"| {name} | {w:.2f} | {c:.2f} | {mb / w:.1f} | {'–' if k is None else f'{k / w:,.0f}'} |")
