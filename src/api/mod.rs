//! HTTP admin API and Prometheus metrics.
