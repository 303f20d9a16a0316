// The JSON shapes of the tracking routes (/api/runs…, shared/Mlops.Tracking/RunViews.cs), as the pages read them.

export interface CurveSummary {
  best: number;
  last: number;
  min: number;
  max: number;
  bestRound: number;
}

export interface RunRow {
  runId: string;
  dataset?: string;
  pipeline: string;
  trial?: number;
  rung?: number;
  sweepMethod?: string;
  stage?: string;
  trainer?: string;
  task?: string;
  status: string;
  prunedAtRound?: number;
  pruneReason?: string;
  createdAt?: string;
  trainSeconds?: number;
  primaryMetric?: string;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
  curves?: Record<string, CurveSummary>;
}

export interface RunList {
  total: number;
  runs: RunRow[];
  columns: { params: string[]; metrics: string[]; curves: string[] };
}

export interface CurvePoint {
  round: number;
  train: number;
  validation?: number | null;
  elapsed?: number | null;
  metric?: string | null;
}

export interface Threshold {
  threshold: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export interface Evaluation {
  task: string;
  rows: number;
  positiveClass?: string;
  threshold?: number;
  auc?: number;
  prAuc?: number;
  roc?: { fpr: number; tpr: number }[];
  pr?: { recall: number; precision: number }[];
  calibration?: { meanPredicted: number; fractionPositive: number; count: number }[];
  thresholds?: Threshold[];
  confusion?: { labels: string[]; counts: number[][] };
  classes?: { label: string; precision: number; recall: number; f1: number; support: number }[];
  pairs?: [number, number][];
  residuals?: Record<string, number>;
  residualHistogram?: { lower: number; upper: number; count: number }[];
}

export interface RunDetail extends RunRow {
  curve: CurvePoint[];
  env?: Record<string, unknown> | null;
  lineage?: Record<string, unknown> | null;
  evaluation?: Evaluation | null;
  importance?: { kind: string; features: { column: string; importance: number }[] } | null;
}
