"""What several areas share above the models: branding, subjects, the audience of an event, fan-out records, job and erasure registries, signals."""
