// Mlops.Durable
