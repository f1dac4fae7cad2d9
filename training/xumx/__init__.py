"""CrossNet-Open-Unmix (X-UMX) for X-UMX Studio: model, spectral transforms, losses."""
