// Mlops.ML
