// Mlops.Serving
