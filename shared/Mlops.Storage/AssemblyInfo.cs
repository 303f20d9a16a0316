// Mlops.Storage
