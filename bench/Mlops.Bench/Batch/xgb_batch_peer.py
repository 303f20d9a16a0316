#!/usr/bin/python3
"""The XGBoost peer of batch scoring, the whole process as a user runs it.
  train:   xgb_batch_peer.py train TRAIN.csv MODEL.json      (not timed: hist, 100 trees, depth 6, lr 0.3, 2 threads)
  predict: xgb_batch_peer.py predict DATA.csv MODEL.json OUT.csv   (pandas read + predict_proba + write, timed by the caller)"""
import sys
import pandas as pd
import xgboost

mode = sys.argv[1]
if mode == "train":
    df = pd.read_csv(sys.argv[2])
    m = xgboost.XGBClassifier(tree_method="hist", n_estimators=100, max_depth=6, learning_rate=0.3, n_jobs=2, random_state=42)
    m.fit(df.drop(columns=["target"]), df["target"])
    m.save_model(sys.argv[3])
else:
    m = xgboost.XGBClassifier(n_jobs=2)
    m.load_model(sys.argv[3])
    df = pd.read_csv(sys.argv[2])
    X = df.drop(columns=["target"], errors="ignore")
    p = m.predict_proba(X)
    out = pd.DataFrame({"row": range(1, len(X) + 1), "prediction": p.argmax(1), "probability_0": p[:, 0], "probability_1": p[:, 1]})
    out.to_csv(sys.argv[4], index=False)
