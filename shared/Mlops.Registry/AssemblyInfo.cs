// Mlops.Registry
