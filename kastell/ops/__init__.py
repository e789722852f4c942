"""Operations: server health (CPU, memory, disk, listeners) and the Prometheus metrics registry."""
