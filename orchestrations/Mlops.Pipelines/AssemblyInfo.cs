// Mlops.Pipelines
