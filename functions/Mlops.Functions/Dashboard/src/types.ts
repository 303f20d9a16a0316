// The JSON shapes of the tracking routes (/api/runs…), as the pages read them.

export interface CurveSummary { best?: number; last?: number; min?: number; max?: number; bestRound?: number; }

export interface RunRow {
  runId: string; dataset: string; pipeline: string; sweepMethod?: string; stage?: string; trainer?: string;
  status: string; prunedAtRound?: number; pruneReason?: string; createdAt?: string; trainSeconds?: number;
  params: Record<string, unknown>; metrics: Record<string, number>; curves?: Record<string, CurveSummary>;
}

export interface RunList { total: number; runs: RunRow[]; columns: { params: string[]; metrics: string[] }; }

export interface CurvePoint { round: number; train?: Record<string, number> | number; validation?: Record<string, number> | number; elapsed?: number; }

export interface Threshold { threshold: number; tp: number; fp: number; tn: number; fn: number; }

export interface Evaluation {
  task?: string;
  roc?: { fpr: number; tpr: number; threshold?: number }[] | [number, number][];
  pr?: { recall: number; precision: number; threshold?: number }[] | [number, number][];
  calibration?: { predicted: number; observed: number; count?: number }[];
  thresholds?: Threshold[];
  confusion?: { labels: string[]; matrix: number[][] };
  sample?: { actual: number; predicted: number }[];
  residuals?: Record<string, number>;
  [extra: string]: unknown;
}

export interface RunDetail extends RunRow {
  curve?: CurvePoint[];
  env?: Record<string, unknown>;
  lineage?: Record<string, unknown>;
  evaluation?: Evaluation;
  importance?: Record<string, number> | { feature: string; importance: number }[];
}
