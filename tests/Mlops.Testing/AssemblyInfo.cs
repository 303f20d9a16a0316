// Mlops.Testing
