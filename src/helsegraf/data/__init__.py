"""The deterministic synthetic nation: generation (`nation`) and bulk loading (`load`)."""
