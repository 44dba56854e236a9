"""What makes a query fast without changing its answer: the preloader and the executor's fast paths."""
